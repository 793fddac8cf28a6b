/* Everything mailtoken needs from one X.509 certificate (mt_cert_info). */
#include "cert_internal.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *mt_key_type_name(mt_key_type type)
{
    switch (type) {
    case MT_KEY_NONE:
        return "none";
    case MT_KEY_RSA:
        return "rsa";
    case MT_KEY_EC:
        return "ec";
    case MT_KEY_ED25519:
        return "ed25519";
    case MT_KEY_ED448:
        return "ed448";
    case MT_KEY_X25519:
        return "x25519";
    case MT_KEY_X448:
        return "x448";
    case MT_KEY_OTHER:
        break;
    }
    return "other";
}

void mt_cert_info_free(mt_cert_info *info)
{
    if (!info)
        return;
    free(info->der);
    free(info->subject);
    free(info->issuer);
    free(info->subject_der);
    free(info->issuer_der);
    free(info->serial_der);
    free(info->serial_hex);
    for (size_t i = 0; i < info->n_emails; i++)
        free(info->emails[i]);
    free(info->emails);
    free(info->curve);
    free(info->key_algorithm);
    free(info->spki);
    free(info);
}

/* Algorithms OpenSSL 3.0 has no name for, by OID. */
static const struct {
    const char *oid;
    const char *name;
} unnamed_algorithms[] = {
    {"2.16.840.1.101.3.4.4.1", "ML-KEM-512"},  {"2.16.840.1.101.3.4.4.2", "ML-KEM-768"},
    {"2.16.840.1.101.3.4.4.3", "ML-KEM-1024"}, {"2.16.840.1.101.3.4.3.17", "ML-DSA-44"},
    {"2.16.840.1.101.3.4.3.18", "ML-DSA-65"},  {"2.16.840.1.101.3.4.3.19", "ML-DSA-87"},
};

void mt_algorithm_name(const ASN1_OBJECT *oid, char *buf, size_t size)
{
    char dotted[128] = "";
    int nid = OBJ_obj2nid(oid);
    switch (nid) {
    case NID_rsaEncryption:
        snprintf(buf, size, "RSA");
        return;
    case NID_rsassaPss:
        snprintf(buf, size, "RSA-PSS");
        return;
    case NID_X9_62_id_ecPublicKey:
        snprintf(buf, size, "EC");
        return;
    case NID_dsa:
        snprintf(buf, size, "DSA");
        return;
    case NID_undef:
        break;
    default:
        snprintf(buf, size, "%s", OBJ_nid2ln(nid));
        return;
    }
    if (oid)
        OBJ_obj2txt(dotted, sizeof(dotted), oid, 1);
    for (size_t i = 0; i < sizeof(unnamed_algorithms) / sizeof(*unnamed_algorithms); i++) {
        if (strcmp(dotted, unnamed_algorithms[i].oid) == 0) {
            snprintf(buf, size, "%s", unnamed_algorithms[i].name);
            return;
        }
    }
    snprintf(buf, size, "OID %s", dotted[0] ? dotted : "unknown");
}

/* Copies an OpenSSL-allocated i2d result into plain malloc memory. */
typedef int (*i2d_fn)(const void *, unsigned char **);

static mt_status encode_der(const void *object, i2d_fn i2d, const char *what, uint8_t **out,
                            size_t *out_len)
{
    unsigned char *tmp = NULL;
    int len = i2d(object, &tmp);
    if (len <= 0) {
        OPENSSL_free(tmp);
        return mt_fail(MT_ERR_INVALID, "cannot encode the certificate's %s", what);
    }
    *out = mt_memdup(tmp, (size_t)len);
    OPENSSL_free(tmp);
    if (!*out)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    *out_len = (size_t)len;
    return MT_OK;
}

/* RFC 2253 with UTF-8 kept as UTF-8 (not escaped as \XX). */
mt_status mt_x509_name_text(const X509_NAME *name, char **out)
{
    mt_status st = MT_OK;
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    if (!bio)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        st = mt_fail(MT_ERR_INVALID, "certificate name cannot be printed");
        goto out;
    }
    long len = BIO_get_mem_data(bio, &text);
    *out = strndup(text ? text : "", len > 0 ? (size_t)len : 0);
    if (!*out)
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
out:
    BIO_free(bio);
    return st;
}

static mt_status asn1_time_unix(const ASN1_TIME *t, const char *what, int64_t *out)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return mt_fail(MT_ERR_INVALID, "certificate %s is not a valid time", what);
    *out = (int64_t)timegm(&tm);
    return MT_OK;
}

static mt_status serial_fields(const X509 *x, mt_cert_info *info)
{
    mt_status st = MT_OK;
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    BIGNUM *bn = NULL;
    char *hex = NULL;

    st = encode_der(serial, (i2d_fn)i2d_ASN1_INTEGER, "serial number", &info->serial_der,
                    &info->serial_der_len);
    if (st != MT_OK)
        goto out;
    bn = ASN1_INTEGER_to_BN(serial, NULL);
    hex = bn ? BN_bn2hex(bn) : NULL;
    if (!hex) {
        st = mt_fail(MT_ERR_INVALID, "certificate serial number is not an integer");
        goto out;
    }
    for (char *p = hex; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    info->serial_hex = strdup(hex);
    if (!info->serial_hex)
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
out:
    OPENSSL_free(hex);
    BN_free(bn);
    return st;
}

/* Adds an address lower-cased unless it is already there.  Values with a NUL
 * or nothing at all are not addresses and are left out. */
static mt_status add_email(mt_cert_info *info, const unsigned char *data, int len)
{
    if (len <= 0 || memchr(data, '\0', (size_t)len))
        return MT_OK;
    char *email = strndup((const char *)data, (size_t)len);
    if (!email)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    for (char *p = email; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < info->n_emails; i++) {
        if (strcmp(info->emails[i], email) == 0) {
            free(email);
            return MT_OK;
        }
    }
    char **grown = realloc(info->emails, (info->n_emails + 1) * sizeof(*grown));
    if (!grown) {
        free(email);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    info->emails = grown;
    info->emails[info->n_emails++] = email;
    return MT_OK;
}

static mt_status email_fields(X509 *x, mt_cert_info *info)
{
    mt_status st = MT_OK;
    int crit = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (!names && crit >= 0) {
        st = mt_fail(MT_ERR_INVALID, "certificate subjectAltName is malformed");
        goto out;
    }
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_EMAIL)
            continue;
        st = add_email(info, ASN1_STRING_get0_data(gn->d.rfc822Name),
                       ASN1_STRING_length(gn->d.rfc822Name));
        if (st != MT_OK)
            goto out;
    }
    const X509_NAME *subject = X509_get_subject_name(x);
    for (int pos = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, -1); pos >= 0;
         pos = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, pos)) {
        const ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, value);
        st = len >= 0 ? add_email(info, utf8, len) : MT_OK;
        OPENSSL_free(utf8);
        if (st != MT_OK)
            goto out;
    }
out:
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    return st;
}

static const char *curve_label(const char *group)
{
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return "P-256";
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return "P-384";
    if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
        return "P-521";
    return NULL;
}

/* Big number as fixed-width unsigned big-endian bytes. */
static bool bn_param_padded(const EVP_PKEY *pkey, const char *param, uint8_t *out, size_t width)
{
    BIGNUM *bn = NULL;
    bool ok = EVP_PKEY_get_bn_param(pkey, param, &bn) && BN_bn2binpad(bn, out, (int)width) > 0;
    BN_free(bn);
    return ok;
}

/* The public value NSS hashes into CKA_ID: the RSA modulus without leading
 * zeros, the EC point uncompressed (04||X||Y), the raw EdDSA key. */
static mt_status public_value(const EVP_PKEY *pkey, mt_key_type type, X509_PUBKEY *xpk,
                              uint8_t **out, size_t *out_len)
{
    mt_status st = MT_OK;
    BIGNUM *n = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;

    if (type == MT_KEY_RSA) {
        if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n))
            goto fail;
        len = (size_t)BN_num_bytes(n);
        buf = malloc(len ? len : 1);
        if (!buf || BN_bn2bin(n, buf) != (int)len)
            goto fail;
    } else if (type == MT_KEY_EC) {
        size_t width = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
        len = 1 + 2 * width;
        buf = malloc(len);
        if (!buf)
            goto fail;
        buf[0] = 0x04;
        if (!bn_param_padded(pkey, OSSL_PKEY_PARAM_EC_PUB_X, buf + 1, width) ||
            !bn_param_padded(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, buf + 1 + width, width))
            goto fail;
    } else {
        /* EdDSA and anything else: the subjectPublicKey bits as they are. */
        const unsigned char *bits = NULL;
        int bits_len = 0;
        if (!X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, xpk) || bits_len <= 0)
            goto fail;
        len = (size_t)bits_len;
        buf = mt_memdup(bits, len);
        if (!buf)
            goto fail;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    goto out;
fail:
    st = mt_fail(MT_ERR_INVALID, "certificate public key cannot be read");
out:
    free(buf);
    BN_free(n);
    return st;
}

/* The key of a SubjectPublicKeyInfo through the providers' decoders, never
 * the legacy methods: in a process where an ENGINE was made OpenSSL's
 * default (openssl -engine pkcs11 loading the PKCS#11 module), a legacy EC
 * key belongs to that engine and its parameters cannot be read.  NULL for a
 * key type no provider decodes. */
static EVP_PKEY *spki_key(const uint8_t *spki, size_t len)
{
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = spki;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "SubjectPublicKeyInfo",
                                                           NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (dctx && OSSL_DECODER_from_data(dctx, &p, &len) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

static mt_status key_fields(X509 *x, mt_cert_info *info)
{
    mt_status st = MT_OK;
    uint8_t *value = NULL;
    size_t value_len = 0;
    X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
    EVP_PKEY *pkey = NULL;

    st = encode_der(xpk, (i2d_fn)i2d_X509_PUBKEY, "public key", &info->spki, &info->spki_len);
    if (st != MT_OK)
        goto out;
    pkey = spki_key(info->spki, info->spki_len);
    if (!pkey) {
        /* A key this OpenSSL cannot decode: keep the certificate, say so later. */
        info->key_type = MT_KEY_OTHER;
        st = public_value(NULL, MT_KEY_OTHER, xpk, &value, &value_len);
        goto hash;
    }
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_X25519:
        info->key_type = MT_KEY_X25519;
        break;
    case EVP_PKEY_X448:
        info->key_type = MT_KEY_X448;
        break;
    case EVP_PKEY_RSA:
        info->key_type = MT_KEY_RSA;
        break;
    case EVP_PKEY_EC:
        info->key_type = MT_KEY_EC;
        break;
    case EVP_PKEY_ED25519:
        info->key_type = MT_KEY_ED25519;
        break;
    case EVP_PKEY_ED448:
        info->key_type = MT_KEY_ED448;
        break;
    default:
        info->key_type = MT_KEY_OTHER;
        break;
    }
    info->key_bits = (unsigned)EVP_PKEY_get_bits(pkey);
    if (info->key_type == MT_KEY_EC) {
        char group[64] = "";
        const char *label = NULL;
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL))
            label = curve_label(group);
        if (label && !(info->curve = strdup(label))) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            goto out;
        }
        /* a curve this build cannot use is named in messages */
        if (!label && asprintf(&info->key_algorithm, "EC %s", group[0] ? group : "(explicit "
                                                                                "parameters)") < 0)
            info->key_algorithm = NULL;
    }
    st = public_value(pkey, info->key_type, xpk, &value, &value_len);
hash:
    if (st == MT_OK && !info->key_algorithm) {
        const ASN1_OBJECT *oid = NULL;
        char name[128];
        X509_PUBKEY_get0_param((ASN1_OBJECT **)&oid, NULL, NULL, NULL, xpk);
        mt_algorithm_name(oid, name, sizeof(name));
        info->key_algorithm = strdup(name);
    }
    if (st == MT_OK && !info->key_algorithm)
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st != MT_OK)
        goto out;
    unsigned int md_len = 0;
    if (!EVP_Digest(value, value_len, info->key_id, &md_len, EVP_sha1(), NULL) ||
        md_len != MT_KEY_ID_LEN)
        st = mt_fail(MT_ERR_CRYPTO, "SHA-1 of the public key failed");
out:
    free(value);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return st;
}

static mt_status extension_fields(X509 *x, mt_cert_info *info)
{
    uint32_t flags = X509_get_extension_flags(x);
    if (flags & EXFLAG_INVALID)
        return mt_fail(MT_ERR_INVALID, "certificate has malformed or duplicate extensions");
    info->has_key_usage = (flags & EXFLAG_KUSAGE) != 0;
    info->key_usage = info->has_key_usage ? X509_get_key_usage(x) & 0xffffu : 0;
    info->email_protection =
        !(flags & EXFLAG_XKUSAGE) || (X509_get_extended_key_usage(x) & XKU_SMIME);
    info->is_ca = (flags & EXFLAG_CA) != 0;
    info->self_signed = X509_self_signed(x, 1) == 1;
    ERR_clear_error();
    return MT_OK;
}

static mt_status fill_info(X509 *x, const uint8_t *der, size_t der_len, mt_cert_info *info)
{
    mt_status st = MT_OK;
    if (!(info->der = mt_memdup(der, der_len)))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    info->der_len = der_len;
    crypto_hash_sha256(info->sha256, der, der_len);
    if ((st = mt_x509_name_text(X509_get_subject_name(x), &info->subject)) != MT_OK ||
        (st = mt_x509_name_text(X509_get_issuer_name(x), &info->issuer)) != MT_OK ||
        (st = encode_der(X509_get_subject_name(x), (i2d_fn)i2d_X509_NAME, "subject",
                         &info->subject_der, &info->subject_der_len)) != MT_OK ||
        (st = encode_der(X509_get_issuer_name(x), (i2d_fn)i2d_X509_NAME, "issuer",
                         &info->issuer_der, &info->issuer_der_len)) != MT_OK ||
        (st = serial_fields(x, info)) != MT_OK ||
        (st = asn1_time_unix(X509_get0_notBefore(x), "notBefore", &info->not_before)) != MT_OK ||
        (st = asn1_time_unix(X509_get0_notAfter(x), "notAfter", &info->not_after)) != MT_OK ||
        (st = email_fields(x, info)) != MT_OK || (st = key_fields(x, info)) != MT_OK ||
        (st = extension_fields(x, info)) != MT_OK)
        return st;
    return MT_OK;
}

mt_status mt_cert_info_from_x509(X509 *x, mt_cert_info **out)
{
    mt_status st = MT_OK;
    unsigned char *der = NULL;
    mt_cert_info *info = calloc(1, sizeof(*info));

    *out = NULL;
    if (!info) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* the encoding OpenSSL kept from parsing: the certificate's own bytes */
    int der_len = i2d_X509(x, &der);
    if (der_len <= 0) {
        st = mt_fail(MT_ERR_INVALID, "certificate cannot be encoded");
        goto out;
    }
    st = fill_info(x, der, (size_t)der_len, info);
    if (st != MT_OK)
        goto out;
    *out = info;
    info = NULL;
out:
    OPENSSL_free(der);
    mt_cert_info_free(info);
    ERR_clear_error();
    return st;
}

mt_status mt_cert_info_from_der(const uint8_t *der, size_t der_len, mt_cert_info **out)
{
    mt_status st = mt_library_init();
    X509 *x = NULL;

    if (st != MT_OK)
        return st;
    if (!der || !out)
        return mt_fail(MT_ERR_INVALID, "certificate: argument is NULL");
    *out = NULL;
    if (der_len == 0 || der_len > MT_MAX_INPUT_SIZE) {
        st = mt_fail(der_len ? MT_ERR_TOO_LARGE : MT_ERR_INVALID,
                     "certificate: %zu bytes of DER", der_len);
        goto out;
    }
    const unsigned char *p = der;
    x = d2i_X509(NULL, &p, (long)der_len);
    if (!x || p != der + der_len) {
        st = mt_fail(MT_ERR_INVALID, x ? "certificate: trailing bytes after the DER certificate"
                                       : "certificate: not a valid DER X.509 certificate");
        goto out;
    }
    st = mt_cert_info_from_x509(x, out);
out:
    X509_free(x);
    ERR_clear_error();
    return st;
}

mt_cert_info *mt_cert_info_dup(const mt_cert_info *info)
{
    mt_cert_info *copy = NULL;
    if (!info)
        return NULL;
    /* Re-deriving from the DER keeps one code path for every field. */
    if (mt_cert_info_from_der(info->der, info->der_len, &copy) != MT_OK)
        return NULL;
    return copy;
}
