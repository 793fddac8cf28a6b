/* Shared by the certificate parsing files: the pool of certificates and keys
 * found in one input, from which mt_parsed entries are built. */
#ifndef MT_STORE_CERT_INTERNAL_H
#define MT_STORE_CERT_INTERNAL_H

#include "internal.h"

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

/* RFC 2253 text of a name, UTF-8 kept as UTF-8. */
mt_status mt_x509_name_text(const X509_NAME *name, char **out);

/* A readable name of a key algorithm OID ("RSA", "DSA", "ML-KEM-768",
 * "OID 1.2.3"), for messages. */
void mt_algorithm_name(const ASN1_OBJECT *oid, char *buf, size_t size);

/* mt_cert_info of a certificate already decoded (no second decoding). */
mt_status mt_cert_info_from_x509(X509 *x, mt_cert_info **out);

/* What the queued OpenSSL errors say (and empties the queue): this build
 * cannot do it (the reason in reason[]), a PBE decryption failed in the way
 * a wrong password makes it fail (bad final block or padding), or anything
 * else (corrupt data). */
typedef enum mt_openssl_failure {
    MT_OPENSSL_CORRUPT,
    MT_OPENSSL_UNSUPPORTED,
    MT_OPENSSL_DECRYPT
} mt_openssl_failure;

mt_openssl_failure mt_openssl_failure_kind(char *reason, size_t size);

/* How one decryption pass is going: decides "wrong password" against
 * "corrupt" when a part does not decrypt. */
typedef struct mt_decrypt_state {
    bool mac_verified; /* the password is right: nothing is a wrong password */
    size_t decrypted;  /* parts that decrypted with this password */
} mt_decrypt_state;

/* The failure of decrypting `what` (from the queued OpenSSL errors). */
mt_status mt_decrypt_failure(const char *name, const mt_decrypt_state *state, const char *what);

typedef struct mt_pool_item {
    X509 *cert;                      /* a certificate item */
    EVP_PKEY *key;                   /* a key item; NULL when `algorithm` is unusable */
    char *algorithm;                 /* a key this build cannot read: its algorithm */
    char *origin;                    /* where a PEM key was ("PEM block 2 (EC PRIVATE KEY)") */
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
    bool keys_need_certs; /* PEM: a key matching no certificate is an error */
    mt_decrypt_state pem_keys; /* encrypted PEM keys decrypted so far */
} mt_cert_pool;

/* Take ownership of cert/key, friendly_name and local_key_id (also on failure). */
mt_status mt_pool_add_cert(mt_cert_pool *pool, X509 *cert, char *friendly_name,
                           ASN1_OCTET_STRING *local_key_id);
mt_status mt_pool_add_key(mt_cert_pool *pool, EVP_PKEY *key, char *friendly_name,
                          ASN1_OCTET_STRING *local_key_id);
/* A key whose algorithm this build cannot read: its certificate is skipped. */
mt_status mt_pool_add_unusable_key(mt_cert_pool *pool, const char *algorithm,
                                   char *friendly_name, ASN1_OCTET_STRING *local_key_id);
/* A PKCS#8 key EVP_PKCS82PKEY refused: unusable when this OpenSSL lacks its
 * algorithm (from the queued errors), else corrupt. */
mt_status mt_pool_add_unreadable_p8(mt_cert_pool *pool, const PKCS8_PRIV_KEY_INFO *p8,
                                    char *friendly_name, ASN1_OCTET_STRING *local_key_id);
void mt_pool_clear(mt_cert_pool *pool);
/* Appends "NAME: message" to the warnings. */
mt_status mt_pool_warn(mt_cert_pool *pool, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the warnings added after the first n (a retry with another password). */
void mt_pool_truncate_warnings(mt_cert_pool *pool, size_t n);
/* Which certificate a message means: "SUBJECT" (serial S[, SHA-256 ...]). */
void mt_pool_cert_label(const mt_cert_pool *pool, X509 *cert, char *buf, size_t size);

/* What this build does with a certificate's key algorithm. */
typedef enum mt_key_verdict {
    MT_KEY_USABLE,    /* RSA 1024-16384, EC P-256/P-384/P-521: key kept */
    MT_KEY_CERT_ONLY, /* EdDSA, X25519, X448: the certificate without its key */
    MT_KEY_SKIP       /* DSA, GOST, ML-KEM, other curves...: the entry is skipped */
} mt_key_verdict;

/* The verdict, and why (for a skip or a certificate-only import). */
mt_key_verdict mt_key_verdict_of(const mt_cert_info *info, char *reason, size_t size);

/* What the warnings of one entry depend on besides the certificate. */
typedef struct mt_entry_facts {
    const char *label;          /* mt_pool_cert_label of the certificate */
    mt_key_verdict verdict;
    const char *verdict_reason;
    bool key_in_file;           /* the input had its private key */
    bool p12;                   /* the input is a PKCS#12 */
    bool p12_without_keys;      /* the input is a PKCS#12 holding no key at all */
} mt_entry_facts;

/* Appends the warnings a user needs about one entry: algorithm, validity
 * period, CA flag, key usages, key size, missing email or key. */
mt_status mt_entry_warnings(mt_cert_pool *pool, const mt_parsed_entry *entry,
                            const mt_entry_facts *facts);

/* Pairs keys with certificates, resolves chains, fills pool->parsed->entries. */
mt_status mt_pool_build_entries(mt_cert_pool *pool);

/* Fills the pool from a DER (or BER) PKCS#12. */
mt_status mt_p12_load(mt_cert_pool *pool, const uint8_t *der, size_t len, const char *password,
                      size_t password_len);

/* PEM private key blocks ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
 * "ENCRYPTED PRIVATE KEY"): whether label is one. */
bool mt_pem_is_key_label(const char *label);
/* Decodes one such block (header: its PEM headers, for legacy encryption)
 * into the pool; `block` numbers it in messages. */
mt_status mt_pem_load_key(mt_cert_pool *pool, const char *label, const char *header,
                          unsigned char *der, long der_len, size_t block, const char *password,
                          size_t password_len);
/* Certificates of a PKCS#7 SignedData (DER) into the pool. */
mt_status mt_pkcs7_load(mt_cert_pool *pool, const uint8_t *der, size_t len);

#endif
