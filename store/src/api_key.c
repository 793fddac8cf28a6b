/* API keys of `mailtoken serve`: made at random here, kept as a SHA-256
 * hash, shown to their creator once, revoked but never deleted (the audit
 * trail names them). */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define KEY_TAG "mtk_"
#define KEY_TAG_LEN 4
#define KEY_RANDOM_BYTES 32
/* 43 base64url characters without padding encode the 32 random bytes. */
#define KEY_TEXT_LEN (KEY_TAG_LEN + 43)
#define KEY_PREFIX_LEN 12

#define KEY_COLS                                                                              \
    "k.id, k.org_id, o.name, k.name, k.scope, k.prefix, k.created_at, k.expires_at,"         \
    " k.revoked_at FROM api_keys k JOIN organizations o ON o.id = k.org_id"

static const char *const SCOPES[] = {"read", "write", "admin"};

const char *mt_api_scope_name(mt_api_scope scope)
{
    return (unsigned)scope < 3 ? SCOPES[scope] : "unknown";
}

mt_status mt_api_scope_parse(const char *text, mt_api_scope *out)
{
    for (unsigned i = 0; text && i < 3; i++) {
        if (strcmp(text, SCOPES[i]) == 0) {
            *out = (mt_api_scope)i;
            return MT_OK;
        }
    }
    return mt_fail(MT_ERR_INVALID, "scope must be read, write or admin, not \"%s\"",
                   text ? text : "");
}

static void key_clear(mt_api_key *key)
{
    free(key->org_name);
    free(key->name);
    free(key->prefix);
}

void mt_api_key_free(mt_api_key *key)
{
    if (!key)
        return;
    key_clear(key);
    free(key);
}

void mt_api_key_list_free(mt_api_key *keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++)
        key_clear(&keys[i]);
    free(keys);
}

static mt_status key_read(mt_stmt *stmt, mt_api_key *key)
{
    memset(key, 0, sizeof(*key));
    key->id = mt_col_int64(stmt, 0);
    key->org_id = mt_col_int64(stmt, 1);
    key->org_name = mt_col_text(stmt, 2);
    key->name = mt_col_text(stmt, 3);
    const char *scope = (const char *)mt_col_peek_text(stmt, 4);
    for (unsigned i = 0; scope && i < 3; i++)
        if (strcmp(scope, SCOPES[i]) == 0)
            key->scope = (mt_api_scope)i;
    key->prefix = mt_col_text(stmt, 5);
    key->created_at = mt_col_int64(stmt, 6);
    key->expires_at = mt_col_int64(stmt, 7);
    key->revoked_at = mt_col_int64(stmt, 8);
    if (!key->org_name || !key->prefix) {
        key_clear(key);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    return MT_OK;
}

/* "mtk_" and the random bytes in base64url, in secret memory. */
static mt_status make_key(mt_secret **out)
{
    uint8_t random[KEY_RANDOM_BYTES];
    mt_status st = mt_secret_new(KEY_TEXT_LEN, out);
    if (st != MT_OK)
        return st;
    randombytes_buf(random, sizeof(random));
    memcpy((*out)->data, KEY_TAG, KEY_TAG_LEN);
    sodium_bin2base64((char *)(*out)->data + KEY_TAG_LEN, KEY_TEXT_LEN - KEY_TAG_LEN + 1, random,
                      sizeof(random), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(random, sizeof(random));
    return MT_OK;
}

static mt_status insert_key(mt_store *store, int64_t org_id, mt_api_scope scope, const char *name,
                            int64_t expires_at, const mt_secret *key, int64_t *key_id)
{
    mt_stmt *stmt = NULL;
    uint8_t hash[crypto_hash_sha256_BYTES];
    char prefix[KEY_PREFIX_LEN + 1], detail[600], escaped[420];
    crypto_hash_sha256(hash, key->data, key->len);
    memcpy(prefix, key->data, KEY_PREFIX_LEN);
    prefix[KEY_PREFIX_LEN] = '\0';
    mt_status st = mt_db_stmt(store,
                              "INSERT INTO api_keys (org_id, name, scope, key_hash, prefix,"
                              " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text_or_null(stmt, 2, name && *name ? name : NULL);
    mt_bind_text(stmt, 3, SCOPES[scope]);
    mt_bind_blob(stmt, 4, hash, sizeof(hash));
    mt_bind_text(stmt, 5, prefix);
    mt_bind_int64(stmt, 6, mt_now());
    mt_bind_int64(stmt, 7, expires_at);
    st = mt_db_step_done(store, stmt, "storing the API key");
    mt_db_done(stmt);
    if (st != MT_OK)
        return st;
    *key_id = mt_db_last_id(store);
    char subject[32];
    snprintf(subject, sizeof(subject), "key-%lld", (long long)*key_id);
    mt_json_escape(name ? name : "", escaped, sizeof(escaped));
    snprintf(detail, sizeof(detail), "{\"scope\":\"%s\",\"name\":\"%s\",\"expiresAt\":%lld}",
             SCOPES[scope], escaped, (long long)expires_at);
    return mt_event_add(store, org_id, "api-key.create", subject, detail);
}

mt_status mt_store_api_key_create(mt_store *store, int64_t org_id, mt_api_scope scope,
                                  const char *name, int64_t expires_at, int64_t *key_id,
                                  mt_secret **key)
{
    mt_secret *made = NULL;
    if (!store || !key_id || !key)
        return mt_fail(MT_ERR_INVALID, "store, key_id and key are required");
    *key = NULL;
    if ((unsigned)scope > MT_SCOPE_ADMIN)
        return mt_fail(MT_ERR_INVALID, "scope must be read, write or admin");
    mt_status st = mt_check_text("name", name, 200, false);
    if (st == MT_OK && expires_at != 0 && expires_at <= mt_now())
        st = mt_fail(MT_ERR_INVALID, "the expiry date lies in the past");
    if (st != MT_OK)
        return st;
    if ((st = mt_tx_begin(store)) != MT_OK)
        return st;
    if ((st = mt_org_exists(store, org_id)) == MT_OK && (st = make_key(&made)) == MT_OK)
        st = insert_key(store, org_id, scope, name, expires_at, made, key_id);
    st = mt_tx_end(store, st);
    if (st != MT_OK) {
        mt_secret_free(made);
        return st;
    }
    *key = made;
    return MT_OK;
}

mt_status mt_store_api_key_find(mt_store *store, const char *key, size_t key_len, mt_api_key **out)
{
    mt_stmt *stmt = NULL;
    uint8_t hash[crypto_hash_sha256_BYTES];
    bool found = false;
    mt_api_key *k = NULL;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    /* Not shaped like a key: no need to look. */
    if (!key || key_len != KEY_TEXT_LEN || memcmp(key, KEY_TAG, KEY_TAG_LEN) != 0)
        return mt_fail(MT_ERR_NOT_FOUND, "unknown API key");
    crypto_hash_sha256(hash, (const uint8_t *)key, key_len);
    mt_status st = mt_db_stmt(store, "SELECT " KEY_COLS " WHERE k.key_hash = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_blob(stmt, 1, hash, sizeof(hash));
    st = mt_db_step_row(store, stmt, "looking up the API key", &found);
    if (st == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "unknown API key");
    if (st == MT_OK && !(k = calloc(1, sizeof(*k))))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK && (st = key_read(stmt, k)) != MT_OK) {
        free(k);
        k = NULL;
    }
    mt_db_done(stmt);
    *out = k;
    return st;
}

mt_status mt_store_api_key_list(mt_store *store, int64_t org_id, bool include_revoked,
                                mt_api_key **out, size_t *n)
{
    mt_stmt *stmt = NULL;
    mt_api_key *keys = NULL;
    size_t count = 0;
    int rc = MT_DONE;
    if (!store || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = mt_db_stmt(store,
                              "SELECT " KEY_COLS " WHERE (?1 = 0 OR k.org_id = ?1)"
                              " AND (?2 <> 0 OR k.revoked_at = ?3) ORDER BY k.id",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_int(stmt, 2, include_revoked);
    mt_bind_int64(stmt, 3, 0); /* never revoked (a time: bound, not written, for the server) */
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        mt_api_key *grown = realloc(keys, (count + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        keys = grown;
        if ((st = key_read(stmt, &keys[count])) == MT_OK)
            count++;
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing API keys");
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_api_key_list_free(keys, count);
        return st;
    }
    *out = keys;
    *n = count;
    return MT_OK;
}

/* Revoked at, or -1 when the organisation has no such key. */
static mt_status key_revoked_at(mt_store *store, int64_t org_id, int64_t key_id, int64_t *at)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT revoked_at FROM api_keys WHERE id = ? AND org_id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, key_id);
    mt_bind_int64(stmt, 2, org_id);
    st = mt_db_step_row(store, stmt, "finding the API key", &found);
    *at = found ? mt_col_int64(stmt, 0) : -1;
    mt_db_done(stmt);
    return st;
}

static mt_status revoke_row(mt_store *store, int64_t org_id, int64_t key_id)
{
    mt_stmt *stmt = NULL;
    int64_t revoked_at = 0;
    char subject[32];
    mt_status st = key_revoked_at(store, org_id, key_id, &revoked_at);
    if (st == MT_OK && revoked_at < 0)
        st = mt_fail(MT_ERR_NOT_FOUND, "API key %lld not found", (long long)key_id);
    else if (st == MT_OK && revoked_at > 0)
        st = mt_fail(MT_ERR_CONFLICT, "API key %lld is already revoked", (long long)key_id);
    if (st == MT_OK)
        st = mt_db_stmt(store, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, mt_now());
    mt_bind_int64(stmt, 2, key_id);
    st = mt_db_step_done(store, stmt, "revoking the API key");
    mt_db_done(stmt);
    snprintf(subject, sizeof(subject), "key-%lld", (long long)key_id);
    if (st == MT_OK)
        st = mt_event_add(store, org_id, "api-key.revoke", subject, "{}");
    return st;
}

mt_status mt_store_api_key_revoke(mt_store *store, int64_t org_id, int64_t key_id)
{
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = mt_tx_begin(store);
    if (st == MT_OK)
        st = mt_tx_end(store, revoke_row(store, org_id, key_id));
    return st;
}
