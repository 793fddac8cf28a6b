/* mt-craft-p12: writes the odd PKCS#12 files that `openssl pkcs12` refuses to
 * make, for the parser's bad-input tests:
 *   multikey OUT PASSFILE KEY1 CERT1 KEY2 CERT2 ORPHAN_KEY EXTRA_CERT
 *   mismatch OUT PASSFILE KEY CERT     (key and certificate of two people)
 *   badname  OUT PASSFILE KEY CERT     (friendlyName: a lone UTF-16 surrogate)
 *   pbmac1   OUT PASSFILE KEY CERT     (RFC 9579 PBMAC1 integrity check) */
#include "tool_util.h"

#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tool_name = "mt-craft-p12";

typedef struct der_buf {
    unsigned char data[8192];
    size_t len;
} der_buf;

static void put(der_buf *b, const void *data, size_t len)
{
    if (b->len + len > sizeof(b->data)) {
        fprintf(stderr, "%s: DER buffer overflow\n", tool_name);
        exit(1);
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* Tag, definite length, content. */
static void put_tlv(der_buf *b, unsigned char tag, const void *content, size_t len)
{
    unsigned char header[4] = {tag};
    size_t n = 1;
    if (len < 0x80) {
        header[n++] = (unsigned char)len;
    } else if (len < 0x100) {
        header[n++] = 0x81;
        header[n++] = (unsigned char)len;
    } else {
        header[n++] = 0x82;
        header[n++] = (unsigned char)(len >> 8);
        header[n++] = (unsigned char)len;
    }
    put(b, header, n);
    put(b, content, len);
}

static void put_seq(der_buf *b, const der_buf *content)
{
    put_tlv(b, 0x30, content->data, content->len);
}

static void put_small_int(der_buf *b, unsigned value)
{
    unsigned char v[3] = {(unsigned char)(value >> 16), (unsigned char)(value >> 8),
                          (unsigned char)value};
    size_t skip = 0;
    while (skip < 2 && v[skip] == 0 && !(v[skip + 1] & 0x80))
        skip++;
    put_tlv(b, 0x02, v + skip, sizeof(v) - skip);
}

static const unsigned char oid_hmac_sha256[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                0x0d, 0x02, 0x09};
static const unsigned char oid_pbkdf2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c};
static const unsigned char oid_pbmac1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0e};

static void put_hmac_alg(der_buf *b)
{
    der_buf alg = {.len = 0};
    put_tlv(&alg, 0x06, oid_hmac_sha256, sizeof(oid_hmac_sha256));
    put_tlv(&alg, 0x05, "", 0);
    put_seq(b, &alg);
}

/* MacData with PBMAC1 (PBKDF2-HMAC-SHA256 key, HMAC-SHA256), RFC 9579. */
static void put_pbmac1_macdata(der_buf *b, const unsigned char *salt, size_t salt_len,
                               unsigned iter, const unsigned char mac[32])
{
    der_buf kdf_params = {.len = 0}, kdf = {.len = 0}, params = {.len = 0}, alg = {.len = 0};
    der_buf digest_info = {.len = 0}, mac_data = {.len = 0};
    put_tlv(&kdf_params, 0x04, salt, salt_len);
    put_small_int(&kdf_params, iter);
    put_small_int(&kdf_params, 32);
    put_hmac_alg(&kdf_params);
    put_tlv(&kdf, 0x06, oid_pbkdf2, sizeof(oid_pbkdf2));
    put_seq(&kdf, &kdf_params);
    put_seq(&params, &kdf);
    put_hmac_alg(&params);
    put_tlv(&alg, 0x06, oid_pbmac1, sizeof(oid_pbmac1));
    put_seq(&alg, &params);
    put_seq(&digest_info, &alg);
    put_tlv(&digest_info, 0x04, mac, 32);
    put_seq(&mac_data, &digest_info);
    put_tlv(&mac_data, 0x04, salt, salt_len);
    put_small_int(&mac_data, iter);
    put_seq(b, &mac_data);
}

/* Re-encodes a MAC-less PFX with a PBMAC1 MacData over its authSafe. */
static int write_pbmac1(const char *out, PKCS12 *p12, const char *password)
{
    static const unsigned char salt[16] = "mailtoken-pbmac1";
    const unsigned iter = 2048;
    unsigned char *der = NULL, key[32], mac[32];
    unsigned mac_len = 0;
    int rc = 1;
    int der_len = i2d_PKCS12(p12, &der);
    /* PFX = SEQUENCE { INTEGER 3, ContentInfo authSafe }: find authSafe. */
    const unsigned char *p = der, *content_info = NULL;
    long seq_len = 0;
    int tag = 0, cls = 0;
    if (der_len <= 0 || (ASN1_get_object(&p, &seq_len, &tag, &cls, der_len) & 0x80))
        goto out;
    if (p[0] != 0x02 || p[1] != 0x01 || p[2] != 0x03)
        goto out;
    content_info = p + 3;
    p = content_info;
    PKCS7 *auth_safe = d2i_PKCS7(NULL, &p, der + der_len - content_info);
    if (!auth_safe || OBJ_obj2nid(auth_safe->type) != NID_pkcs7_data) {
        PKCS7_free(auth_safe);
        goto out;
    }
    size_t content_info_len = (size_t)(p - content_info);
    const ASN1_OCTET_STRING *data = auth_safe->d.data;
    if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), (int)iter,
                           EVP_sha256(), sizeof(key), key) ||
        !HMAC(EVP_sha256(), key, sizeof(key), data->data, (size_t)data->length, mac, &mac_len)) {
        PKCS7_free(auth_safe);
        goto out;
    }
    PKCS7_free(auth_safe);
    static der_buf body, pfx;
    body.len = pfx.len = 0;
    put_small_int(&body, 3);
    put(&body, content_info, content_info_len);
    put_pbmac1_macdata(&body, salt, sizeof(salt), iter, mac);
    put_seq(&pfx, &body);
    rc = tool_write_file(out, pfx.data, pfx.len, 0644) ? 0 : 1;
out:
    OPENSSL_free(der);
    return rc ? tool_fail("%s: cannot build the PBMAC1 file", out) : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: %s multikey OUT PASSFILE KEY1 CERT1 KEY2 CERT2 ORPHAN_KEY "
                    "EXTRA_CERT\n"
                    "       %s mismatch|badname|pbmac1 OUT PASSFILE KEY CERT\n",
            tool_name, tool_name);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 6)
        return usage();
    const char *mode = argv[1], *out = argv[2];
    bool multikey = strcmp(mode, "multikey") == 0;
    if (multikey ? argc != 10 : argc != 6)
        return usage();
    char *password = tool_read_password(argv[3]);
    int n_files = argc - 4;
    EVP_PKEY *keys[3] = {NULL};
    X509 *certs[3] = {NULL};
    STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
    PKCS12 *p12 = NULL;
    int rc = 1;

    if (!password)
        goto out;
    for (int i = 0; i < n_files; i++) {
        bool is_key = i % 2 == 0;
        if (is_key && !(keys[i / 2] = tool_load_key(argv[4 + i])))
            goto out;
        if (!is_key && !(certs[i / 2] = tool_load_cert(argv[4 + i])))
            goto out;
    }
    if (multikey) {
        /* Two pairs, a key with no certificate, a certificate with no key. */
        if (!tool_add_pair(&bags, keys[0], certs[0], 1, "first", password) ||
            !tool_add_pair(&bags, keys[1], certs[1], 2, "second", password) ||
            !tool_add_pair(&bags, keys[2], NULL, 3, "orphan key", password) ||
            !tool_add_pair(&bags, NULL, certs[2], 4, "extra certificate", password))
            goto fail;
    } else if (strcmp(mode, "mismatch") == 0 || strcmp(mode, "pbmac1") == 0) {
        if (!tool_add_pair(&bags, keys[0], certs[0], 1, "mailtoken test", password))
            goto fail;
    } else if (strcmp(mode, "badname") == 0) {
        static const unsigned char lone_surrogate[] = {0xd8, 0x00, 0x00, 0x41};
        if (!tool_add_pair(&bags, keys[0], certs[0], 1, NULL, password))
            goto fail;
        for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++)
            if (!PKCS12_add_friendlyname_uni(sk_PKCS12_SAFEBAG_value(bags, i), lone_surrogate,
                                             sizeof(lone_surrogate)))
                goto fail;
    } else {
        rc = usage();
        goto out;
    }
    bool pbmac1 = strcmp(mode, "pbmac1") == 0;
    p12 = tool_make_p12(bags, password, !pbmac1);
    if (!p12)
        goto fail;
    rc = pbmac1 ? write_pbmac1(out, p12, password) : (tool_write_p12(out, p12) ? 0 : 1);
    goto out;
fail:
    rc = tool_fail("%s: cannot build the %s file", out, mode);
out:
    PKCS12_free(p12);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    for (int i = 0; i < 3; i++) {
        EVP_PKEY_free(keys[i]);
        X509_free(certs[i]);
    }
    free(password);
    return rc;
}
