/* From the certificates and keys found in one input to mt_parsed entries:
 * every key with its matching certificate, chains resolved inside the input. */
#include "cert_internal.h"

#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN_DEPTH 10

static void item_clear(mt_pool_item *item)
{
    X509_free(item->cert);
    EVP_PKEY_free(item->key);
    free(item->friendly_name);
    ASN1_OCTET_STRING_free(item->local_key_id);
}

static mt_status pool_append(mt_pool_item **items, size_t *n, mt_pool_item item)
{
    mt_pool_item *grown = realloc(*items, (*n + 1) * sizeof(*grown));
    if (!grown) {
        item_clear(&item);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    grown[(*n)++] = item;
    *items = grown;
    return MT_OK;
}

mt_status mt_pool_add_cert(mt_cert_pool *pool, X509 *cert, char *friendly_name,
                           ASN1_OCTET_STRING *local_key_id)
{
    mt_pool_item item = {.cert = cert, .friendly_name = friendly_name, .local_key_id = local_key_id};
    return pool_append(&pool->certs, &pool->n_certs, item);
}

mt_status mt_pool_add_key(mt_cert_pool *pool, EVP_PKEY *key, char *friendly_name,
                          ASN1_OCTET_STRING *local_key_id)
{
    mt_pool_item item = {.key = key, .friendly_name = friendly_name, .local_key_id = local_key_id};
    return pool_append(&pool->keys, &pool->n_keys, item);
}

void mt_pool_clear(mt_cert_pool *pool)
{
    for (size_t i = 0; i < pool->n_certs; i++)
        item_clear(&pool->certs[i]);
    for (size_t i = 0; i < pool->n_keys; i++)
        item_clear(&pool->keys[i]);
    free(pool->certs);
    free(pool->keys);
    pool->certs = pool->keys = NULL;
    pool->n_certs = pool->n_keys = 0;
}

mt_status mt_pool_warn(mt_cert_pool *pool, const char *fmt, ...)
{
    char message[512];
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    mt_parsed *parsed = pool->parsed;
    char **grown = realloc(parsed->warnings, (parsed->n_warnings + 1) * sizeof(*grown));
    if (!grown || asprintf(&line, "%s: %s", pool->name, message) < 0) {
        if (grown)
            parsed->warnings = grown;
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    parsed->warnings = grown;
    parsed->warnings[parsed->n_warnings++] = line;
    return MT_OK;
}

void mt_pool_truncate_warnings(mt_cert_pool *pool, size_t n)
{
    mt_parsed *parsed = pool->parsed;
    while (parsed->n_warnings > n)
        free(parsed->warnings[--parsed->n_warnings]);
}

/* Subject for messages ("CN=alice,..."); never fails. */
static void subject_label(X509 *cert, char *buf, size_t size)
{
    char *text = NULL;
    if (mt_x509_name_text(X509_get_subject_name(cert), &text) == MT_OK)
        snprintf(buf, size, "%s", text);
    else
        snprintf(buf, size, "(unprintable subject)");
    free(text);
}

static void key_label(const mt_pool_item *key, size_t index, char *buf, size_t size)
{
    if (key->friendly_name)
        snprintf(buf, size, "\"%s\"", key->friendly_name);
    else
        snprintf(buf, size, "number %zu", index + 1);
}

static bool same_local_key_id(const mt_pool_item *a, const mt_pool_item *b)
{
    return a->local_key_id && b->local_key_id &&
           ASN1_STRING_cmp(a->local_key_id, b->local_key_id) == 0;
}

static mt_status prefixed(mt_cert_pool *pool, mt_status st)
{
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s: ", pool->name);
    return mt_fail_prefix(st, prefix);
}

/* key_of[c] = index of the key matching certificate c, or -1. */
static mt_status pair_keys(mt_cert_pool *pool, long *key_of)
{
    size_t matched = 0;
    for (size_t k = 0; k < pool->n_keys; k++) {
        const mt_pool_item *key = &pool->keys[k];
        char label[160];
        long found = -1;
        for (size_t c = 0; c < pool->n_certs && found < 0; c++)
            if (EVP_PKEY_eq(X509_get0_pubkey(pool->certs[c].cert), key->key) == 1)
                found = (long)c;
        ERR_clear_error();
        key_label(key, k, label, sizeof(label));
        if (found >= 0 && key_of[found] < 0) {
            key_of[found] = (long)k;
            matched++;
            continue;
        }
        if (found >= 0) {
            mt_status st = mt_pool_warn(pool, "private key %s is a duplicate: skipped", label);
            if (st != MT_OK)
                return st;
            continue;
        }
        for (size_t c = 0; c < pool->n_certs; c++) {
            if (same_local_key_id(key, &pool->certs[c])) {
                char subject[256];
                subject_label(pool->certs[c].cert, subject, sizeof(subject));
                return mt_fail(MT_ERR_INVALID,
                               "%s: private key %s does not match its certificate \"%s\"",
                               pool->name, label, subject);
            }
        }
        mt_status st =
            mt_pool_warn(pool, "private key %s matches no certificate in the file: skipped", label);
        if (st != MT_OK)
            return st;
    }
    if (pool->n_keys > 0 && matched == 0)
        return mt_fail(MT_ERR_INVALID, "%s: the private key does not match any certificate in "
                                       "the file", pool->name);
    return MT_OK;
}

static bool cert_is_ca(X509 *cert)
{
    bool ca = X509_check_ca(cert) != 0;
    ERR_clear_error();
    return ca;
}

static bool index_in(const size_t *list, size_t n, size_t value)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == value)
            return true;
    return false;
}

static mt_status info_from_x509(mt_cert_pool *pool, X509 *cert, mt_cert_info **info)
{
    mt_status st = mt_cert_info_from_x509(cert, info);
    return st == MT_OK ? st : prefixed(pool, st);
}

/* Walks issuers inside the pool, leaf-most first, and marks them used. */
static mt_status build_chain(mt_cert_pool *pool, size_t leaf, bool *used, mt_parsed_entry *entry)
{
    mt_status st = MT_OK;
    size_t visited[MAX_CHAIN_DEPTH + 1] = {leaf};
    size_t n_visited = 1;
    size_t current = leaf;

    while (n_visited <= MAX_CHAIN_DEPTH) {
        X509 *cert = pool->certs[current].cert;
        if (X509_check_issued(cert, cert) == X509_V_OK)
            break; /* self-issued: the root */
        long issuer = -1;
        for (size_t c = 0; c < pool->n_certs && issuer < 0; c++)
            if (!index_in(visited, n_visited, c) &&
                X509_check_issued(pool->certs[c].cert, cert) == X509_V_OK)
                issuer = (long)c;
        if (issuer < 0)
            break;
        mt_cert_info *info = NULL;
        st = info_from_x509(pool, pool->certs[issuer].cert, &info);
        if (st != MT_OK)
            goto out;
        mt_cert_info **grown = realloc(entry->chain, (entry->n_chain + 1) * sizeof(*grown));
        if (!grown) {
            mt_cert_info_free(info);
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            goto out;
        }
        entry->chain = grown;
        entry->chain[entry->n_chain++] = info;
        used[issuer] = true;
        visited[n_visited++] = (size_t)issuer;
        current = (size_t)issuer;
    }
out:
    ERR_clear_error();
    return st;
}

/* PKCS#8 DER straight into secure memory; OpenSSL's buffer is wiped. */
static mt_status export_pkcs8(mt_cert_pool *pool, EVP_PKEY *key, mt_secret **out)
{
    mt_status st = MT_OK;
    unsigned char *der = NULL;
    size_t der_len = 0;
    OSSL_ENCODER_CTX *ctx =
        OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    if (!ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx) == 0 ||
        !OSSL_ENCODER_to_data(ctx, &der, &der_len)) {
        st = mt_fail(MT_ERR_CRYPTO, "%s: the private key cannot be exported as PKCS#8", pool->name);
        goto out;
    }
    st = mt_secret_from(der, der_len, out);
out:
    if (der) {
        OPENSSL_cleanse(der, der_len);
        OPENSSL_free(der);
    }
    OSSL_ENCODER_CTX_free(ctx);
    ERR_clear_error();
    return st;
}

/* RSA 2048-4096 and EC P-256/P-384/P-521 work through PKCS#11; EdDSA
 * certificates are kept without their key (*keep_key = false). */
static mt_status check_key_supported(mt_cert_pool *pool, const mt_cert_info *info, bool *keep_key)
{
    *keep_key = true;
    switch (info->key_type) {
    case MT_KEY_RSA:
        if (info->key_bits >= 2048 && info->key_bits <= 4096)
            return MT_OK;
        return mt_fail(MT_ERR_UNSUPPORTED, "%s: certificate \"%s\": RSA-%u keys are not "
                                           "supported (2048 to 4096 bits)",
                       pool->name, info->subject, info->key_bits);
    case MT_KEY_EC:
        if (info->curve)
            return MT_OK;
        return mt_fail(MT_ERR_UNSUPPORTED, "%s: certificate \"%s\": EC curve not supported "
                                           "(P-256, P-384, P-521 are)",
                       pool->name, info->subject);
    case MT_KEY_ED25519:
    case MT_KEY_ED448:
        *keep_key = false;
        return mt_pool_warn(pool, "certificate \"%s\": %s keys are not usable for signing "
                                  "through PKCS#11 yet: imported as a certificate only",
                            info->subject, mt_key_type_name(info->key_type));
    case MT_KEY_NONE:
    case MT_KEY_OTHER:
        break;
    }
    return mt_fail(MT_ERR_UNSUPPORTED, "%s: certificate \"%s\": public key algorithm not "
                                       "supported (RSA and EC are)",
                   pool->name, info->subject);
}

static mt_status make_entry(mt_cert_pool *pool, size_t c, const mt_pool_item *key, bool *used,
                            mt_parsed_entry *entry)
{
    mt_status st = info_from_x509(pool, pool->certs[c].cert, &entry->cert);
    bool keep_key = true;
    if (st != MT_OK)
        return st;
    if (entry->cert->n_emails == 0)
        return mt_fail(MT_ERR_INVALID, "%s: certificate \"%s\" names no email address (no "
                                       "subjectAltName email, no emailAddress in the subject)",
                       pool->name, entry->cert->subject);
    st = check_key_supported(pool, entry->cert, &keep_key);
    if (st != MT_OK)
        return st;
    if (key && keep_key) {
        st = export_pkcs8(pool, key->key, &entry->pkcs8);
        if (st != MT_OK)
            return st;
    }
    const char *friendly = key && key->friendly_name ? key->friendly_name
                                                     : pool->certs[c].friendly_name;
    if (friendly && !(entry->friendly_name = strdup(friendly)))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    return build_chain(pool, c, used, entry);
}

/* Which certificates are entries: those with a key; when the input has no key
 * at all, every end-entity certificate (or the only certificate). */
static bool is_entry(const mt_cert_pool *pool, size_t c, const long *key_of)
{
    if (key_of[c] >= 0)
        return true;
    if (pool->n_keys > 0)
        return false;
    return pool->n_certs == 1 || !cert_is_ca(pool->certs[c].cert);
}

static mt_status warn_unused(mt_cert_pool *pool, const long *key_of, const bool *used)
{
    mt_status st = MT_OK;
    for (size_t c = 0; c < pool->n_certs && st == MT_OK; c++) {
        if (used[c] || is_entry(pool, c, key_of))
            continue;
        char subject[256];
        subject_label(pool->certs[c].cert, subject, sizeof(subject));
        if (cert_is_ca(pool->certs[c].cert))
            st = mt_pool_warn(pool, "CA certificate \"%s\" issues no certificate in the file: "
                                    "skipped", subject);
        else
            st = mt_pool_warn(pool, "certificate \"%s\" has no private key in the file: skipped",
                              subject);
    }
    return st;
}

mt_status mt_pool_build_entries(mt_cert_pool *pool)
{
    mt_status st = MT_OK;
    mt_parsed *parsed = pool->parsed;
    long *key_of = malloc((pool->n_certs + 1) * sizeof(*key_of));
    bool *used = calloc(pool->n_certs + 1, sizeof(*used));

    if (!key_of || !used) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (pool->n_certs == 0) {
        st = mt_fail(MT_ERR_INVALID, "%s: no certificate in the file", pool->name);
        goto out;
    }
    for (size_t c = 0; c < pool->n_certs; c++)
        key_of[c] = -1;
    st = pair_keys(pool, key_of);
    if (st != MT_OK)
        goto out;
    parsed->entries = calloc(pool->n_certs, sizeof(*parsed->entries));
    if (!parsed->entries) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < pool->n_certs; c++) {
        if (!is_entry(pool, c, key_of))
            continue;
        const mt_pool_item *key = key_of[c] >= 0 ? &pool->keys[key_of[c]] : NULL;
        mt_parsed_entry *entry = &parsed->entries[parsed->n_entries++];
        st = make_entry(pool, c, key, used, entry);
        if (st != MT_OK)
            goto out;
    }
    if (parsed->n_entries == 0) {
        st = mt_fail(MT_ERR_INVALID, "%s: no end-entity certificate in the file (only CA "
                                     "certificates)", pool->name);
        goto out;
    }
    st = warn_unused(pool, key_of, used);
out:
    free(key_of);
    free(used);
    return st;
}
