/* A logged-in token's sealed keys, read in one query at login: with the
 * store on a server, the first signature after a login must not need the
 * server.  The blobs stay sealed (they are no secret without the token
 * secret); each is opened and checked against its certificate's public key
 * only when used, exactly as a key read from the store is. */
#include "keys.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

typedef struct sealed_entry {
    int64_t cert_id, org_id;
    mt_blob sealed;
    uint8_t *spki;
    size_t spki_len;
} sealed_entry;

struct mt_sealed_keys {
    uint8_t pk[MT_SEAL_PK_LEN];  /* the token's public key: a key sealed to another is none of ours */
    sealed_entry *items;         /* by certificate id */
    size_t n;
};

/* The token is the one whose public key the secret opens, as for one key
 * (key_open.c); only certificates of the token's organisation. */
static const char *const SEALED_KEYS_SQL =
    "SELECT s.cert_id, s.sealed, c.der, c.org_id FROM tokens t"
    " JOIN sealed_keys s ON s.token_id = t.id"
    " JOIN certificates c ON c.id = s.cert_id AND c.org_id = t.org_id"
    " WHERE t.public_key = ?1 ORDER BY s.cert_id";

/* The certificate's public key as DER: all a key is checked against (the
 * certificate's other details are no concern of a login). */
static mt_status public_key_of(const uint8_t *der, size_t len, int64_t cert_id, sealed_entry *e)
{
    const unsigned char *p = der;
    X509 *cert = der ? d2i_X509(NULL, &p, (long)len) : NULL;
    unsigned char *spki = NULL;
    int n = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki) : -1;
    mt_status st = MT_OK;
    if (n <= 0)
        st = mt_fail(MT_ERR_DB, "certificate %lld: its DER does not parse", (long long)cert_id);
    else if (!(e->spki = malloc((size_t)n)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    else
        memcpy(e->spki, spki, (size_t)(e->spki_len = (size_t)n));
    OPENSSL_free(spki);
    X509_free(cert);
    return st;
}

static mt_status entry_add(mt_sealed_keys *keys, mt_stmt *stmt)
{
    sealed_entry e = {.cert_id = mt_col_int64(stmt, 0), .org_id = mt_col_int64(stmt, 3)};
    sealed_entry *grown = realloc(keys->items, (keys->n + 1) * sizeof(*grown));
    mt_status st = grown ? MT_OK : mt_fail(MT_ERR_NOMEM, "out of memory");
    if (grown)
        keys->items = grown;
    if (st == MT_OK)
        st = public_key_of(mt_col_peek_blob(stmt, 2), (size_t)mt_col_bytes(stmt, 2), e.cert_id, &e);
    if (st == MT_OK && !(e.sealed.data = mt_col_blob(stmt, 1, &e.sealed.len)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK)
        keys->items[keys->n++] = e;
    else
        free(e.spki);
    return st;
}

mt_status mt_store_sealed_keys(mt_store *store, const mt_secret *token_secret, mt_sealed_keys **out)
{
    mt_stmt *stmt = NULL;
    mt_sealed_keys *keys = NULL;
    int rc = MT_DONE;
    mt_status st = store && out ? MT_OK : mt_fail(MT_ERR_INVALID, "store and out are required");
    if (st == MT_OK && !(keys = calloc(1, sizeof(*keys))))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK && mt_token_secret_pk(token_secret, keys->pk) != MT_OK)
        st = MT_ERR_INVALID;
    if (st == MT_OK)
        st = mt_db_stmt(store, SEALED_KEYS_SQL, &stmt);
    if (st == MT_OK) {
        mt_bind_blob(stmt, 1, keys->pk, MT_SEAL_PK_LEN);
        while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW)
            st = entry_add(keys, stmt);
        if (st == MT_OK && rc != MT_DONE)
            st = mt_db_error(store, rc, "reading the token's sealed keys");
    }
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_sealed_keys_free(keys);
        keys = NULL;
    }
    if (out)
        *out = keys;
    return st;
}

static const sealed_entry *entry_find(const mt_sealed_keys *keys, int64_t cert_id)
{
    size_t lo = 0, hi = keys ? keys->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys->items[mid].cert_id == cert_id)
            return &keys->items[mid];
        if (keys->items[mid].cert_id < cert_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

mt_status mt_sealed_keys_open(mt_store *store, const mt_sealed_keys *keys,
                              const mt_secret *token_secret, int64_t cert_id, mt_secret **pkcs8)
{
    uint8_t pk[MT_SEAL_PK_LEN];
    const sealed_entry *e = entry_find(keys, cert_id);
    if (!pkcs8)
        return mt_fail(MT_ERR_INVALID, "out is required");
    *pkcs8 = NULL;
    if (mt_token_secret_pk(token_secret, pk) != MT_OK)
        return MT_ERR_INVALID;
    if (!e || memcmp(pk, keys->pk, sizeof(pk)) != 0)
        return mt_fail(MT_ERR_NOT_FOUND, "no key for certificate %lld was read at login",
                       (long long)cert_id);
    return mt_key_open_reported(store, pk, token_secret, cert_id, e->org_id, e->spki, e->spki_len,
                                &e->sealed, pkcs8);
}

size_t mt_sealed_keys_count(const mt_sealed_keys *keys) { return keys ? keys->n : 0; }

void mt_sealed_keys_free(mt_sealed_keys *keys)
{
    for (size_t i = 0; keys && i < keys->n; i++) {
        free(keys->items[i].sealed.data);
        free(keys->items[i].spki);
    }
    if (keys)
        free(keys->items);
    free(keys);
}
