/* Tokens: the per-(organisation, email) key pair that seals an email's keys. */
#include "auth.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* One statement serves list, get and find: unused filters are bound NULL. */
static const char *const TOKEN_SQL =
    "SELECT t.id, t.org_id, o.name, t.email, a.id IS NOT NULL, COALESCE(c.has_key, 0),"
    " t.pin_wrapped IS NOT NULL, t.failed_logins, t.max_failures,"
    " (SELECT count(*) FROM account_certificates ac JOIN sealed_keys s"
    "   ON s.cert_id = ac.cert_id AND s.token_id = t.id WHERE ac.account_id = a.id),"
    " CASE WHEN a.updated_at IS NULL OR t.updated_at > a.updated_at THEN t.updated_at"
    "  ELSE a.updated_at END, o.so_failed_logins, o.so_max_failures"
    " FROM tokens t JOIN organizations o ON o.id = t.org_id"
    " LEFT JOIN accounts a ON a.token_id = t.id"
    " LEFT JOIN certificates c ON c.id = a.primary_cert_id"
    " WHERE (?1 IS NULL OR t.id = ?1) AND (?2 IS NULL OR (t.org_id = ?2 AND t.email = ?3))"
    " ORDER BY t.id";

static mt_status token_read(mt_stmt *stmt, mt_token *t)
{
    t->id = mt_col_int64(stmt, 0);
    t->org_id = mt_col_int64(stmt, 1);
    t->org_name = mt_col_text(stmt, 2);
    t->email = mt_col_text(stmt, 3);
    t->has_account = mt_col_int(stmt, 4) != 0;
    t->internal = mt_col_int(stmt, 5) != 0;
    t->pin_set = mt_col_int(stmt, 6) != 0;
    t->failed_logins = (unsigned)mt_col_int(stmt, 7);
    t->max_failures = (unsigned)mt_col_int(stmt, 8);
    t->n_private_keys = (size_t)mt_col_int64(stmt, 9);
    t->updated_at = mt_col_int64(stmt, 10);
    t->so_failed_logins = (unsigned)mt_col_int(stmt, 11);
    t->so_max_failures = (unsigned)mt_col_int(stmt, 12);
    return t->org_name && t->email ? MT_OK : mt_fail(MT_ERR_NOMEM, "out of memory");
}

static void token_clear(mt_token *t)
{
    free(t->org_name);
    free(t->email);
}

void mt_token_free(mt_token *token)
{
    if (token) {
        token_clear(token);
        free(token);
    }
}

void mt_token_list_free(mt_token *tokens, size_t n)
{
    for (size_t i = 0; tokens && i < n; i++)
        token_clear(&tokens[i]);
    free(tokens);
}

static mt_status token_query(mt_store *store, int64_t token_id, int64_t org_id, const char *email,
                             mt_token **out, size_t *n)
{
    mt_stmt *stmt = NULL;
    mt_token *tokens = NULL;
    size_t count = 0, cap = 0;
    int rc = MT_DONE;
    mt_status st = mt_db_stmt(store, TOKEN_SQL, &stmt);
    if (st != MT_OK)
        return st;
    if (token_id)
        mt_bind_int64(stmt, 1, token_id);
    if (email) {
        mt_bind_int64(stmt, 2, org_id);
        mt_bind_text(stmt, 3, email);
    }
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            mt_token *grown = realloc(tokens, ncap * sizeof(*grown));
            if (!grown) {
                st = mt_fail(MT_ERR_NOMEM, "out of memory");
                break;
            }
            tokens = grown;
            cap = ncap;
        }
        memset(&tokens[count], 0, sizeof(tokens[count]));
        st = token_read(stmt, &tokens[count++]);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing tokens");
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_token_list_free(tokens, count);
        return st;
    }
    *out = tokens;
    *n = count;
    return MT_OK;
}

mt_status mt_store_token_list(mt_store *store, mt_token **out, size_t *n)
{
    if (!store || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, out and n are required");
    *out = NULL;
    *n = 0;
    return token_query(store, 0, 0, NULL, out, n);
}

static mt_status token_one(mt_store *store, int64_t token_id, int64_t org_id, const char *email,
                           mt_token **out)
{
    mt_token *tokens = NULL;
    size_t n = 0;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = token_query(store, token_id, org_id, email, &tokens, &n);
    if (st != MT_OK)
        return st;
    if (n == 0) {
        mt_token_list_free(tokens, n);
        return email ? mt_fail(MT_ERR_NOT_FOUND, "no token for %s", email)
                     : mt_fail(MT_ERR_NOT_FOUND, "token %lld not found", (long long)token_id);
    }
    *out = tokens; /* one element: mt_token_free frees it */
    return MT_OK;
}

mt_status mt_store_token_get(mt_store *store, int64_t token_id, mt_token **out)
{
    if (token_id <= 0)
        return mt_fail(MT_ERR_NOT_FOUND, "token %lld not found", (long long)token_id);
    return token_one(store, token_id, 0, NULL, out);
}

mt_status mt_store_token_find(mt_store *store, int64_t org_id, const char *email, mt_token **out)
{
    char *lower = NULL;
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st == MT_OK)
        st = token_one(store, 0, org_id, lower, out);
    free(lower);
    return st;
}

/* ------------------------------------------------------------- creation */

/* The existing token of (org, email), its key authenticated; *found false when none. */
static mt_status token_existing(mt_store *store, int64_t org_id, const char *email, int64_t *token_id,
                                mt_trusted_pk *pk, bool *found)
{
    mt_stmt *stmt = NULL;
    mt_key_row row = {.org_id = org_id, .name = email};
    uint8_t *tag = NULL;
    mt_status st = mt_db_stmt(store, "SELECT id, public_key, pk_tag FROM tokens WHERE org_id = ? AND email = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, email);
    st = mt_db_step_row(store, stmt, "finding the token", found);
    if (st == MT_OK && *found) {
        row.id = *token_id = mt_col_int64(stmt, 0);
        if (mt_col_bytes(stmt, 1) == MT_SEAL_PK_LEN)
            memcpy(row.pk, mt_col_peek_blob(stmt, 1), MT_SEAL_PK_LEN);
        else
            st = mt_fail(MT_ERR_DB, "%s: token of %s has a corrupt public key", store->path, email);
        row.tag = tag = mt_col_blob(stmt, 2, &row.tag_len);
    }
    mt_db_done(stmt);
    if (st == MT_OK && *found)
        st = mt_auth_key(store, &row, false, pk);
    free(tag);
    return st;
}

mt_status mt_token_ensure(mt_store *store, int64_t org_id, const char *email, int64_t *token_id,
                          mt_trusted_pk *pk)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_secret *sk = NULL;
    mt_blob sealed = {0};
    mt_trusted_pk recovery_pk;
    mt_key_row row = {.org_id = org_id, .name = email};
    char detail[64];
    mt_status st = token_existing(store, org_id, email, token_id, pk, &found);
    if (st != MT_OK || found)
        return st;

    /* the recovery public key only, authenticated: creating a token needs no PIN */
    if ((st = mt_org_trusted_pk(store, org_id, &recovery_pk)) != MT_OK)
        return st;
    /* the secret half only lives long enough to be sealed to the recovery key */
    if (!store->scratch_sk && (st = mt_secret_new(MT_SEAL_SK_LEN, &store->scratch_sk)) != MT_OK)
        return st;
    sk = store->scratch_sk;
    if (crypto_box_keypair(row.pk, sk->data) != 0) {
        st = mt_fail(MT_ERR_CRYPTO, "X25519 key generation failed");
        goto out;
    }
    if ((st = mt_seal_secret(&recovery_pk, sk, &sealed)) != MT_OK)
        goto out;
    st = mt_db_stmt(store,
                    "INSERT INTO tokens (org_id, email, public_key, recovery_sealed, max_failures,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    &stmt);
    if (st != MT_OK)
        goto out;
    int64_t now = mt_now();
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, email);
    mt_bind_blob(stmt, 3, row.pk, MT_SEAL_PK_LEN);
    mt_bind_blob(stmt, 4, sealed.data, sealed.len);
    mt_bind_int(stmt, 5, (int)store->config.pin_max_failures);
    mt_bind_int64(stmt, 6, now);
    mt_bind_int64(stmt, 7, now);
    st = mt_db_step_done(store, stmt, "creating the token");
    mt_db_done(stmt);
    if (st != MT_OK)
        goto out;
    row.id = *token_id = mt_db_last_id(store);
    /* tagged once its id is known (the tag covers the id), and recorded */
    if ((st = mt_auth_write_tag(store, &row)) != MT_OK || (st = mt_auth_key(store, &row, true, pk)) != MT_OK)
        goto out;
    snprintf(detail, sizeof(detail), "{\"token\":%lld}", (long long)*token_id);
    st = mt_event_add(store, org_id, "token.create", email, detail);
out:
    free(sealed.data);
    if (sk)
        sodium_memzero(sk->data, sk->len);
    return st;
}

mt_status mt_token_store_key(mt_store *store, int64_t token_id, const mt_trusted_pk *pk,
                             int64_t cert_id, const uint8_t spki_sha256[32],
                             const mt_secret *pkcs8)
{
    mt_blob sealed = {0};
    mt_stmt *stmt = NULL;
    mt_status st = mt_seal_key(pk, spki_sha256, pkcs8, &sealed);
    if (st == MT_OK)
        st = mt_db_stmt(store, MT_SEALED_KEY_UPSERT, &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, cert_id);
        mt_bind_int64(stmt, 2, token_id);
        mt_bind_blob(stmt, 3, sealed.data, sealed.len);
        st = mt_db_step_done(store, stmt, "storing a sealed key");
    }
    mt_db_done(stmt);
    free(sealed.data);
    return st;
}
