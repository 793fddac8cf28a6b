/* Candidate key generation and the CSR that carries it to the CA. */
#include "renew/keygen.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool mt_renew_key_spec_valid(const char *spec)
{
    return spec && (strcmp(spec, "rsa2048") == 0 || strcmp(spec, "rsa3072") == 0 ||
                    strcmp(spec, "ec-p256") == 0 || strcmp(spec, "ec-p384") == 0);
}

static EVP_PKEY *generate(const char *spec)
{
    if (strcmp(spec, "rsa2048") == 0)
        return EVP_RSA_gen(2048);
    if (strcmp(spec, "rsa3072") == 0)
        return EVP_RSA_gen(3072);
    if (strcmp(spec, "ec-p256") == 0)
        return EVP_EC_gen("P-256");
    if (strcmp(spec, "ec-p384") == 0)
        return EVP_EC_gen("P-384");
    return NULL;
}

static int add_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
    if (!ext)
        return -1;
    sk_X509_EXTENSION_push(exts, ext);
    return 0;
}

static X509_REQ *build_csr(EVP_PKEY *key, const char *email, const EVP_MD *md, bool rsa)
{
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    char san[600];
    snprintf(san, sizeof san, "email:%s", email);
    X509_NAME *name = X509_REQ_get_subject_name(req);
    int ok = req && exts && X509_REQ_set_version(req, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)email,
                                        -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "emailAddress", MBSTRING_ASC,
                                        (const unsigned char *)email, -1, -1, 0) &&
             X509_REQ_set_pubkey(req, key) && add_ext(exts, NID_subject_alt_name, san) == 0 &&
             add_ext(exts, NID_key_usage,
                     rsa ? "critical,digitalSignature,keyEncipherment"
                         : "critical,digitalSignature,keyAgreement") == 0 &&
             add_ext(exts, NID_ext_key_usage, "emailProtection") == 0 &&
             X509_REQ_add_extensions(req, exts) && X509_REQ_sign(req, key, md) > 0;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok) {
        X509_REQ_free(req);
        return NULL;
    }
    return req;
}

mt_status mt_renew_make_key_and_csr(const char *spec, const char *email, const char *hash,
                                    mt_secret **pkcs8, uint8_t **csr_der, size_t *csr_len)
{
    mt_status st = MT_ERR_CRYPTO;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    const EVP_MD *md = EVP_get_digestbyname(hash ? hash : "sha256");
    *pkcs8 = NULL;
    *csr_der = NULL;
    if (!mt_renew_key_spec_valid(spec)) {
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "--key: '%s' is not one of rsa2048, rsa3072, ec-p256, ec-p384",
                              spec ? spec : "");
        goto out;
    }
    if (!md || (strcmp(hash, "sha256") && strcmp(hash, "sha384") && strcmp(hash, "sha512"))) {
        st = mt_cli_set_error(MT_ERR_INVALID, "hash: '%s' is not sha256, sha384 or sha512",
                              hash);
        goto out;
    }
    if (!(key = generate(spec))) {
        mt_cli_set_error(st, "cannot generate a %s key", spec);
        goto out;
    }
    if (!(req = build_csr(key, email, md, strncmp(spec, "rsa", 3) == 0))) {
        mt_cli_set_error(st, "cannot build the CSR for %s", email);
        goto out;
    }
    if (!(p8 = EVP_PKEY2PKCS8(key))) {
        mt_cli_set_error(st, "cannot encode the new key");
        goto out;
    }
    int len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
    if (len <= 0 || (st = mt_secret_new((size_t)len, pkcs8)) != MT_OK)
        goto out;
    unsigned char *p = (*pkcs8)->data;
    i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
    int clen = i2d_X509_REQ(req, csr_der);
    if (clen <= 0) {
        st = mt_cli_set_error(MT_ERR_CRYPTO, "cannot encode the CSR");
        goto out;
    }
    *csr_len = (size_t)clen;
    st = MT_OK;
out:
    if (st != MT_OK) {
        mt_secret_free(*pkcs8);
        *pkcs8 = NULL;
    }
    PKCS8_PRIV_KEY_INFO_free(p8); /* OpenSSL cleanses the key material on free */
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return st;
}

char *mt_renew_csr_pem(const uint8_t *csr_der, size_t csr_len)
{
    const unsigned char *p = csr_der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL, *data = NULL;
    if (req && bio && PEM_write_bio_X509_REQ(bio, req)) {
        long len = BIO_get_mem_data(bio, &data);
        out = strndup(data, (size_t)len);
    }
    BIO_free(bio);
    X509_REQ_free(req);
    return out;
}

bool mt_renew_csr_matches(const uint8_t *csr_der, size_t csr_len, const uint8_t *spki,
                          size_t spki_len)
{
    const unsigned char *p = csr_der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    unsigned char *der = NULL;
    int len = req ? i2d_PUBKEY(X509_REQ_get0_pubkey(req), &der) : -1;
    bool same = len > 0 && (size_t)len == spki_len && memcmp(der, spki, spki_len) == 0;
    OPENSSL_free(der);
    X509_REQ_free(req);
    return same;
}
