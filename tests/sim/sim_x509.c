/* Certificates the simulators make: the HTTPS server's own, and S/MIME
 * certificates issued from the test CA for a submitted CSR. */
#include "sim.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static char *bio_text(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)len + 1);
    memcpy(out, data, (size_t)len);
    out[len] = '\0';
    return out;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int rc = X509_add_ext(cert, ext, -1) ? 0 : -1;
    X509_EXTENSION_free(ext);
    return rc;
}

static void random_serial(X509 *cert, char **serial_hex)
{
    unsigned char raw[16];
    RAND_bytes(raw, sizeof raw);
    raw[0] &= 0x7f;
    raw[0] |= 0x10;
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    if (serial_hex) {
        char *hex = BN_bn2hex(bn);
        *serial_hex = strdup(hex);
        for (char *p = *serial_hex; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
        OPENSSL_free(hex);
    }
    BN_free(bn);
}

int sim_tls_make(char **key_pem, char **cert_pem)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    random_serial(cert, NULL);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * 30);
    X509_set_pubkey(cert, key);
    add_ext(cert, cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, cert, NID_subject_key_identifier, "hash");
    X509_sign(cert, key, EVP_sha256());
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_X509(cb, cert);
    *key_pem = bio_text(kb);
    *cert_pem = bio_text(cb);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(cert);
    EVP_PKEY_free(key);
    return 0;
}

/* Reads a CSR given as PEM or as bare base64 DER. */
static X509_REQ *csr_read(const char *text)
{
    BIO *bio = BIO_new_mem_buf(text, -1);
    X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (req)
        return req;
    size_t len = strlen(text);
    unsigned char *der = malloc(len + 1);
    char *clean = malloc(len + 1);
    size_t c = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ')
            clean[c++] = text[i];
    clean[c] = '\0';
    int n = EVP_DecodeBlock(der, (unsigned char *)clean, (int)c);
    if (n > 0) {
        while (c > 0 && clean[c - 1] == '=') { /* DecodeBlock counts padding */
            n--;
            c--;
        }
        const unsigned char *p = der;
        req = d2i_X509_REQ(NULL, &p, n);
    }
    free(der);
    free(clean);
    return req;
}

static int key_acceptable(EVP_PKEY *key)
{
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_RSA)
        return EVP_PKEY_get_bits(key) >= 2048 && EVP_PKEY_get_bits(key) % 8 == 0;
    if (id == EVP_PKEY_EC) {
        char curve[64] = "";
        size_t len = 0;
        EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len);
        return strcmp(curve, "prime256v1") == 0 || strcmp(curve, "secp384r1") == 0 ||
               strcmp(curve, "secp521r1") == 0;
    }
    return 0;
}

static int issue_for_key(sim *s, EVP_PKEY *pub, const char *email, const char *eku,
                         char **cert_pem, char **serial_hex)
{
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    random_serial(cert, serial_hex);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)email, -1, -1,
                               0);
    X509_set_issuer_name(cert, X509_get_subject_name(s->ca_cert));
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * 365);
    X509_set_pubkey(cert, pub);
    char san[512];
    snprintf(san, sizeof san, "email:%s", email);
    bool rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
    int rc = add_ext(cert, s->ca_cert, NID_subject_alt_name, san) ||
             add_ext(cert, s->ca_cert, NID_basic_constraints, "critical,CA:FALSE") ||
             add_ext(cert, s->ca_cert, NID_key_usage,
                     rsa ? "critical,digitalSignature,keyEncipherment"
                         : "critical,digitalSignature,keyAgreement") ||
             add_ext(cert, s->ca_cert, NID_ext_key_usage, eku) ||
             add_ext(cert, s->ca_cert, NID_subject_key_identifier, "hash") ||
             add_ext(cert, s->ca_cert, NID_authority_key_identifier, "keyid");
    if (rc == 0 && X509_sign(cert, s->ca_key, EVP_sha256()) > 0) {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, cert);
        *cert_pem = bio_text(b);
        BIO_free(b);
    } else {
        rc = -4;
    }
    X509_free(cert);
    return rc;
}

int sim_issue(sim *s, const char *csr_text, const char *email, const char *op, char **cert_pem,
              char **serial_hex)
{
    int rc = -4;
    EVP_PKEY *other = NULL;
    X509_REQ *req = csr_read(csr_text);
    if (!req)
        return -4;
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    if (!pub || X509_REQ_verify(req, pub) <= 0)
        goto out;
    rc = -13;
    if (!key_acceptable(pub))
        goto out;
    if (sim_fault_take(s, "wrong_key", op, NULL)) {
        other = EVP_EC_gen("P-256");
        pub = other;
    }
    if (sim_fault_take(s, "wrong_email", op, NULL))
        email = "mallory@example.org";
    const char *eku = sim_fault_take(s, "no_smime", op, NULL) ? "clientAuth" : "emailProtection";
    rc = issue_for_key(s, pub, email, eku, cert_pem, serial_hex);
out:
    EVP_PKEY_free(other);
    X509_REQ_free(req);
    return rc;
}

int sim_issue_placeholder(sim *s, const char *email, char **cert_pem, char **serial_hex)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    int rc = issue_for_key(s, key, email, "emailProtection", cert_pem, serial_hex);
    EVP_PKEY_free(key);
    return rc;
}
