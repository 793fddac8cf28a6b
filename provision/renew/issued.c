/* Leaf selection and verification of a certificate collected from a CA. */
#include "renew/issued.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static STACK_OF(X509) *read_pem(const char *text)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(text, -1);
    X509 *cert;
    while (bio && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        sk_X509_push(certs, cert);
    ERR_clear_error(); /* the loop ends on "no start line" */
    BIO_free(bio);
    return certs;
}

static bool has_key(X509 *cert, const uint8_t *spki, size_t spki_len)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    bool same = len > 0 && (size_t)len == spki_len && memcmp(der, spki, spki_len) == 0;
    OPENSSL_free(der);
    return same;
}

static mt_status check_email(X509 *leaf, const char *email)
{
    unsigned char *der = NULL;
    int len = i2d_X509(leaf, &der);
    mt_cert_info *info = NULL;
    mt_status st = len > 0 ? mt_cert_info_from_der(der, (size_t)len, &info) : MT_ERR_CRYPTO;
    OPENSSL_free(der);
    if (st != MT_OK)
        return mt_cli_set_error(MT_ERR_INVALID, "the certificate from the CA cannot be read: %s",
                                mt_errmsg());
    bool named = false;
    for (size_t i = 0; i < info->n_emails; i++)
        named = named || strcasecmp(info->emails[i], email) == 0;
    if (!named)
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "the certificate from the CA names %s, not %s: not installed",
                              info->n_emails ? info->emails[0] : "no email", email);
    else if (!info->email_protection)
        st = mt_cli_set_error(MT_ERR_INVALID, "the certificate from the CA does not allow "
                                              "emailProtection: not installed");
    mt_cert_info_free(info);
    return st;
}

static mt_status verify_chain(X509 *leaf, STACK_OF(X509) *others, const char *trust_file,
                              mt_issued *out)
{
    mt_status st = MT_ERR_INVALID;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    BIO *bio = BIO_new(BIO_s_mem());
    if (!store || !ctx || !bio)
        goto out;
    if (trust_file ? !X509_STORE_load_file(store, trust_file)
                   : !X509_STORE_set_default_paths(store)) {
        st = mt_cli_set_error(MT_ERR_IO, "%s: cannot read trust anchors",
                              trust_file ? trust_file : "system trust store");
        goto out;
    }
    if (!X509_STORE_CTX_init(ctx, store, leaf, others))
        goto out;
    if (X509_verify_cert(ctx) != 1) {
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "the certificate from the CA does not chain to a trusted root: %s",
                              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    for (int i = 1; i < sk_X509_num(chain); i++)
        PEM_write_bio_X509(bio, sk_X509_value(chain, i));
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    out->chain_pem = strndup(data ? data : "", (size_t)len);
    st = out->chain_pem ? MT_OK : MT_ERR_NOMEM;
out:
    ERR_clear_error();
    BIO_free(bio);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return st;
}

mt_status mt_renew_check_issued(const char *pem_text, const uint8_t *spki, size_t spki_len,
                                const char *email, const char *trust_file, mt_issued *out)
{
    mt_status st;
    memset(out, 0, sizeof *out);
    STACK_OF(X509) *certs = read_pem(pem_text ? pem_text : "");
    STACK_OF(X509) *others = sk_X509_new_null();
    X509 *leaf = NULL;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (!leaf && has_key(c, spki, spki_len))
            leaf = c;
        else
            sk_X509_push(others, c);
    }
    if (sk_X509_num(certs) == 0) {
        st = mt_cli_set_error(MT_ERR_INVALID, "the CA returned no certificate");
        goto out;
    }
    if (!leaf) {
        st = mt_cli_set_error(MT_ERR_INVALID, "the certificate from the CA is not for the "
                                              "candidate key (another key): not installed");
        goto out;
    }
    if ((st = check_email(leaf, email)) != MT_OK ||
        (st = verify_chain(leaf, others, trust_file, out)) != MT_OK)
        goto out;
    unsigned char *der = NULL;
    int len = i2d_X509(leaf, &der);
    if (len <= 0) {
        st = MT_ERR_CRYPTO;
        goto out;
    }
    out->leaf_der = malloc((size_t)len);
    memcpy(out->leaf_der, der, (size_t)len);
    out->leaf_len = (size_t)len;
    OPENSSL_free(der);
out:
    if (st != MT_OK)
        mt_issued_clear(out);
    sk_X509_free(others);
    sk_X509_pop_free(certs, X509_free);
    return st;
}

bool mt_renew_pem_has_key(const char *pem_text, const uint8_t *spki, size_t spki_len)
{
    STACK_OF(X509) *certs = read_pem(pem_text ? pem_text : "");
    bool found = false;
    for (int i = 0; i < sk_X509_num(certs) && !found; i++)
        found = has_key(sk_X509_value(certs, i), spki, spki_len);
    sk_X509_pop_free(certs, X509_free);
    return found;
}

void mt_issued_clear(mt_issued *issued)
{
    free(issued->leaf_der);
    free(issued->chain_pem);
    memset(issued, 0, sizeof *issued);
}

mt_status mt_renew_pem_to_blobs(const char *pem, mt_blob **out, size_t *n)
{
    STACK_OF(X509) *certs = read_pem(pem ? pem : "");
    int count = sk_X509_num(certs);
    *out = count > 0 ? calloc((size_t)count, sizeof **out) : NULL;
    *n = 0;
    for (int i = 0; i < count && *out; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(certs, i), &der);
        if (len <= 0)
            continue;
        (*out)[*n].data = malloc((size_t)len);
        memcpy((*out)[*n].data, der, (size_t)len);
        (*out)[*n].len = (size_t)len;
        (*n)++;
        OPENSSL_free(der);
    }
    sk_X509_pop_free(certs, X509_free);
    return count > 0 && !*out ? MT_ERR_NOMEM : MT_OK;
}

void mt_renew_blobs_free(mt_blob *blobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(blobs[i].data);
    free(blobs);
}
