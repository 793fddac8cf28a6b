/* Shared by the certificate parsing files: the pool of certificates and keys
 * found in one input, from which mt_parsed entries are built. */
#ifndef MT_STORE_CERT_INTERNAL_H
#define MT_STORE_CERT_INTERNAL_H

#include "internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* RFC 2253 text of a name, UTF-8 kept as UTF-8. */
mt_status mt_x509_name_text(const X509_NAME *name, char **out);

/* mt_cert_info of a certificate already decoded (no second decoding). */
mt_status mt_cert_info_from_x509(X509 *x, mt_cert_info **out);

typedef struct mt_pool_item {
    X509 *cert;                      /* exactly one of cert and key is set */
    EVP_PKEY *key;
    char *friendly_name;             /* valid UTF-8 or NULL */
    ASN1_OCTET_STRING *local_key_id; /* P12 localKeyID or NULL */
} mt_pool_item;

typedef struct mt_cert_pool {
    const char *name;   /* input name, prefixes messages */
    mt_parsed *parsed;  /* receives warnings, then entries */
    mt_pool_item *certs;
    size_t n_certs;
    mt_pool_item *keys;
    size_t n_keys;
} mt_cert_pool;

/* Takes ownership of cert/key, friendly_name and local_key_id (also on failure). */
mt_status mt_pool_add_cert(mt_cert_pool *pool, X509 *cert, char *friendly_name,
                           ASN1_OCTET_STRING *local_key_id);
mt_status mt_pool_add_key(mt_cert_pool *pool, EVP_PKEY *key, char *friendly_name,
                          ASN1_OCTET_STRING *local_key_id);
void mt_pool_clear(mt_cert_pool *pool);
/* Appends "NAME: message" to the warnings. */
mt_status mt_pool_warn(mt_cert_pool *pool, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the warnings added after the first n (a retry with another password). */
void mt_pool_truncate_warnings(mt_cert_pool *pool, size_t n);
/* Pairs keys with certificates, resolves chains, fills pool->parsed->entries. */
mt_status mt_pool_build_entries(mt_cert_pool *pool);

/* Fills the pool from a DER PKCS#12. */
mt_status mt_p12_load(mt_cert_pool *pool, const uint8_t *der, size_t len, const char *password,
                      size_t password_len);

#endif
