/* From the certificates and keys found in one input to mt_parsed entries:
 * every key with its matching certificate, chains resolved inside the input,
 * CA certificates that issue nothing else kept as authority certificates,
 * entries of an algorithm this build cannot use listed as skipped. */
#include "cert_internal.h"

#include <ctype.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN_DEPTH 10

static void item_clear(mt_pool_item *item)
{
    X509_free(item->cert);
    EVP_PKEY_free(item->key);
    free(item->algorithm);
    free(item->origin);
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

mt_status mt_pool_add_unusable_key(mt_cert_pool *pool, const char *algorithm,
                                   char *friendly_name, ASN1_OCTET_STRING *local_key_id)
{
    mt_pool_item item = {.algorithm = strdup(algorithm), .friendly_name = friendly_name,
                         .local_key_id = local_key_id};
    if (!item.algorithm) {
        item_clear(&item);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    return pool_append(&pool->keys, &pool->n_keys, item);
}

mt_status mt_pool_add_unreadable_p8(mt_cert_pool *pool, const PKCS8_PRIV_KEY_INFO *p8,
                                    char *friendly_name, ASN1_OCTET_STRING *local_key_id)
{
    char reason[160], algorithm[128];
    const ASN1_OBJECT *oid = NULL;
    if (mt_openssl_failure_kind(reason, sizeof(reason)) != MT_OPENSSL_UNSUPPORTED ||
        !PKCS8_pkey_get0(&oid, NULL, NULL, NULL, p8)) {
        free(friendly_name);
        ASN1_OCTET_STRING_free(local_key_id);
        return mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: a private key does not decode",
                       pool->name);
    }
    mt_algorithm_name(oid, algorithm, sizeof(algorithm));
    return mt_pool_add_unusable_key(pool, algorithm, friendly_name, local_key_id);
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
    char message[768];
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

/* Which certificate a message means: "SUBJECT" (serial S), with the start of
 * its SHA-256 when another certificate of the input has the same subject. */
void mt_pool_cert_label(const mt_cert_pool *pool, X509 *cert, char *buf, size_t size)
{
    char *subject = NULL, *serial = NULL;
    bool twin = false;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    if (bn)
        serial = BN_bn2hex(bn);
    for (char *c = serial; c && *c; c++)
        *c = (char)tolower((unsigned char)*c); /* as mt_cert_info and the JSON write it */
    if (mt_x509_name_text(X509_get_subject_name(cert), &subject) != MT_OK)
        subject = NULL;
    for (size_t c = 0; c < pool->n_certs && !twin; c++)
        twin = pool->certs[c].cert != cert &&
               X509_NAME_cmp(X509_get_subject_name(pool->certs[c].cert),
                             X509_get_subject_name(cert)) == 0;
    int used = snprintf(buf, size, "\"%s\" (serial %s", subject ? subject : "(unprintable)",
                        serial ? serial : "?");
    if (twin && used > 0 && (size_t)used < size) {
        unsigned char md[32];
        unsigned int md_len = 0;
        X509_digest(cert, EVP_sha256(), md, &md_len);
        char hex[65];
        mt_fingerprint_hex(md, hex);
        used += snprintf(buf + used, size - (size_t)used, ", SHA-256 %.16s...", hex);
    }
    if (used > 0 && (size_t)used < size)
        snprintf(buf + used, size - (size_t)used, ")");
    OPENSSL_free(serial);
    BN_free(bn);
    free(subject);
    ERR_clear_error();
}

static void key_label(const mt_pool_item *key, size_t index, char *buf, size_t size)
{
    if (key->origin)
        snprintf(buf, size, "in %s", key->origin);
    else if (key->friendly_name)
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

/* Appends a skipped entry; cert may be NULL (a key alone). */
static mt_status skip_entry(mt_cert_pool *pool, X509 *cert, const char *friendly_name,
                            const char *algorithm, const char *reason)
{
    mt_parsed *parsed = pool->parsed;
    mt_skipped_entry *grown = realloc(parsed->skipped, (parsed->n_skipped + 1) * sizeof(*grown));
    if (!grown)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    parsed->skipped = grown;
    mt_skipped_entry *s = &parsed->skipped[parsed->n_skipped++];
    memset(s, 0, sizeof(*s));
    s->friendly_name = mt_strdup(friendly_name);
    s->algorithm = mt_strdup(algorithm);
    s->reason = mt_strdup(reason);
    if (cert) {
        mt_cert_info *info = NULL;
        if (mt_cert_info_from_x509(cert, &info) != MT_OK)
            return prefixed(pool, MT_ERR_INVALID);
        s->subject = info->subject;
        s->serial_hex = info->serial_hex;
        info->subject = info->serial_hex = NULL;
        if ((s->fingerprint = malloc(65)))
            mt_fingerprint_hex(info->sha256, s->fingerprint);
        mt_cert_info_free(info);
    }
    return MT_OK;
}

typedef struct pairing {
    long *key_of;      /* key_of[c]: index of the key of certificate c, or -1 */
    long *unusable_of; /* unusable_of[c]: index of an unreadable key of c, or -1 */
} pairing;

/* A key this build cannot read: its certificate (by localKeyID) is skipped;
 * alone, it is named as skipped. */
static mt_status pair_unusable_key(mt_cert_pool *pool, size_t k, pairing *p)
{
    const mt_pool_item *key = &pool->keys[k];
    for (size_t c = 0; c < pool->n_certs; c++) {
        if (same_local_key_id(key, &pool->certs[c])) {
            p->unusable_of[c] = (long)k;
            return MT_OK;
        }
    }
    char reason[256];
    snprintf(reason, sizeof(reason), "private key of algorithm %s, which this build cannot "
                                     "read, and no certificate for it", key->algorithm);
    return skip_entry(pool, NULL, key->friendly_name, key->algorithm, reason);
}

static mt_status pair_keys(mt_cert_pool *pool, pairing *p)
{
    size_t matched = 0, unusable = 0;
    for (size_t k = 0; k < pool->n_keys; k++) {
        const mt_pool_item *key = &pool->keys[k];
        char label[160];
        long found = -1;
        mt_status st = MT_OK;
        if (!key->key) {
            unusable++;
            if ((st = pair_unusable_key(pool, k, p)) != MT_OK)
                return st;
            continue;
        }
        for (size_t c = 0; c < pool->n_certs && found < 0; c++)
            if (EVP_PKEY_eq(X509_get0_pubkey(pool->certs[c].cert), key->key) == 1)
                found = (long)c;
        ERR_clear_error();
        key_label(key, k, label, sizeof(label));
        if (found >= 0 && p->key_of[found] < 0) {
            p->key_of[found] = (long)k;
            matched++;
            continue;
        }
        if (found >= 0) {
            if ((st = mt_pool_warn(pool, "private key %s is a duplicate: skipped", label)) != MT_OK)
                return st;
            continue;
        }
        for (size_t c = 0; c < pool->n_certs; c++) {
            if (same_local_key_id(key, &pool->certs[c]) || (pool->keys_need_certs && pool->n_certs == 1)) {
                char cert[512];
                mt_pool_cert_label(pool, pool->certs[c].cert, cert, sizeof(cert));
                return mt_fail(MT_ERR_INVALID, "%s: private key %s does not match its certificate %s",
                               pool->name, label, cert);
            }
        }
        if (pool->keys_need_certs)
            return mt_fail(MT_ERR_INVALID, "%s: private key %s matches no certificate in the file",
                           pool->name, label);
        st = mt_pool_warn(pool, "private key %s matches no certificate in the file: skipped", label);
        if (st != MT_OK)
            return st;
    }
    if (pool->n_keys > unusable && matched == 0)
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

/* Certificate c as an entry, or as a skipped one (*made = false). */
static mt_status make_entry(mt_cert_pool *pool, size_t c, const pairing *p, bool authority,
                            bool *used, bool *made)
{
    mt_parsed *parsed = pool->parsed;
    mt_parsed_entry *entry = &parsed->entries[parsed->n_entries];
    const mt_pool_item *key = p->key_of[c] >= 0 ? &pool->keys[p->key_of[c]] : NULL;
    const mt_pool_item *unusable = p->unusable_of[c] >= 0 ? &pool->keys[p->unusable_of[c]] : NULL;
    const char *friendly = key && key->friendly_name ? key->friendly_name
                                                     : pool->certs[c].friendly_name;
    char reason[384], label[512];
    mt_key_verdict verdict = MT_KEY_USABLE;

    *made = false;
    mt_status st = info_from_x509(pool, pool->certs[c].cert, &entry->cert);
    if (st != MT_OK)
        goto out;
    mt_pool_cert_label(pool, pool->certs[c].cert, label, sizeof(label));
    if (unusable) {
        snprintf(reason, sizeof(reason), "its private key uses %s, which this build cannot read",
                 unusable->algorithm);
        st = skip_entry(pool, pool->certs[c].cert, friendly, unusable->algorithm, reason);
        goto out;
    }
    verdict = mt_key_verdict_of(entry->cert, reason, sizeof(reason));
    if (verdict == MT_KEY_SKIP) {
        st = skip_entry(pool, pool->certs[c].cert, friendly, entry->cert->key_algorithm, reason);
        goto out;
    }
    *made = true;
    parsed->n_entries++;
    entry->authority = authority;
    bool keep_key = key && verdict == MT_KEY_USABLE && entry->cert->n_emails > 0;
    if (keep_key && (st = export_pkcs8(pool, key->key, &entry->pkcs8)) != MT_OK)
        goto out;
    if (friendly && !(entry->friendly_name = strdup(friendly))) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    mt_entry_facts facts = {.label = label, .verdict = verdict, .verdict_reason = reason,
                            .key_in_file = key != NULL, .p12 = parsed->format == MT_FORMAT_P12,
                            .p12_without_keys = parsed->format == MT_FORMAT_P12 &&
                                                pool->n_keys == 0};
    if ((st = mt_entry_warnings(pool, entry, &facts)) == MT_OK)
        st = build_chain(pool, c, used, entry);
out:
    if (!*made) {
        mt_cert_info_free(entry->cert);
        entry->cert = NULL;
    }
    return st;
}

/* Entries: certificates with a key, and every certificate that is not a CA;
 * then the CA certificates that no entry's chain uses, as authorities. */
static mt_status make_entries(mt_cert_pool *pool, const pairing *p, bool *used)
{
    mt_status st = MT_OK;
    bool made = false;
    bool *ca = calloc(pool->n_certs + 1, sizeof(*ca));
    if (!ca)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < pool->n_certs && st == MT_OK; c++) {
        ca[c] = p->key_of[c] < 0 && p->unusable_of[c] < 0 && cert_is_ca(pool->certs[c].cert);
        if (!ca[c])
            st = make_entry(pool, c, p, false, used, &made);
    }
    /* decided before any authority's own chain marks its issuers */
    for (size_t c = 0; c < pool->n_certs; c++)
        ca[c] = ca[c] && !used[c];
    for (size_t c = 0; c < pool->n_certs && st == MT_OK; c++)
        if (ca[c])
            st = make_entry(pool, c, p, true, used, &made);
    free(ca);
    return st;
}

static mt_status nothing_supported(mt_cert_pool *pool)
{
    const mt_skipped_entry *s = &pool->parsed->skipped[0];
    return mt_fail(MT_ERR_UNSUPPORTED, "%s: nothing this build can import: %s%s%s%s: %s",
                   pool->name, s->subject ? "certificate \"" : "private key",
                   s->subject ? s->subject : "", s->subject ? "\" (serial " : "",
                   s->subject ? s->serial_hex : "", s->reason);
}

mt_status mt_pool_build_entries(mt_cert_pool *pool)
{
    mt_status st = MT_OK;
    mt_parsed *parsed = pool->parsed;
    pairing p = {malloc((pool->n_certs + 1) * sizeof(long)),
                 malloc((pool->n_certs + 1) * sizeof(long))};
    bool *used = calloc(pool->n_certs + 1, sizeof(*used));

    if (!p.key_of || !p.unusable_of || !used) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (pool->n_certs == 0) {
        st = pool->n_keys ? mt_fail(MT_ERR_INVALID, "%s: a private key but no certificate in "
                                                    "the file", pool->name)
                          : mt_fail(MT_ERR_INVALID, "%s: no certificate in the file", pool->name);
        goto out;
    }
    for (size_t c = 0; c < pool->n_certs; c++)
        p.key_of[c] = p.unusable_of[c] = -1;
    if ((st = pair_keys(pool, &p)) != MT_OK)
        goto out;
    parsed->entries = calloc(pool->n_certs, sizeof(*parsed->entries));
    if (!parsed->entries) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = make_entries(pool, &p, used)) != MT_OK)
        goto out;
    if (parsed->n_entries == 0)
        st = parsed->n_skipped ? nothing_supported(pool)
                               : mt_fail(MT_ERR_INVALID, "%s: no certificate in the file",
                                         pool->name);
out:
    free(p.key_of);
    free(p.unusable_of);
    free(used);
    return st;
}
