/* Token PINs: login, PIN change, SO reset. */
#include "auth.h"
#include "keys.h"
#include "pin_attempt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct token_secrets {
    int64_t id;
    int64_t org_id;
    char *email;
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_blob tag;                /* pk_tag, or empty */
    mt_blob recovery_sealed;
    bool pin_set;
    mt_pin_row pin;
    unsigned failed;
    unsigned max_failures;
} token_secrets;

static void token_ad(int64_t token_id, char ad[32])
{
    snprintf(ad, 32, "token:%lld", (long long)token_id);
}

static void secrets_clear(token_secrets *t)
{
    free(t->email);
    free(t->tag.data);
    free(t->recovery_sealed.data);
    mt_pin_row_clear(&t->pin);
    memset(t, 0, sizeof(*t));
}

static mt_status secrets_read(mt_store *store, int64_t token_id, token_secrets *t)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    memset(t, 0, sizeof(*t));
    mt_status st = mt_db_stmt(store,
                              "SELECT org_id, email, public_key, recovery_sealed, pin_wrapped, pin_salt,"
                              " pin_ops, pin_mem, pin_store_key, failed_logins, max_failures, pk_tag"
                              " FROM tokens WHERE id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, token_id);
    if ((st = mt_db_step_row(store, stmt, "reading the token", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "token %lld not found", (long long)token_id);
    if (st == MT_OK && mt_col_bytes(stmt, 2) != MT_SEAL_PK_LEN)
        st = mt_fail(MT_ERR_DB, "%s: token %lld has a corrupt public key", store->path, (long long)token_id);
    if (st == MT_OK) {
        t->id = token_id;
        t->org_id = mt_col_int64(stmt, 0);
        t->email = mt_col_text(stmt, 1);
        memcpy(t->pk, mt_col_peek_blob(stmt, 2), MT_SEAL_PK_LEN);
        t->recovery_sealed.data = mt_col_blob(stmt, 3, &t->recovery_sealed.len);
        t->pin_set = !mt_col_is_null(stmt, 4);
        mt_pin_row_read(stmt, 4, &t->pin);
        t->failed = (unsigned)mt_col_int(stmt, 9);
        t->max_failures = (unsigned)mt_col_int(stmt, 10);
        t->tag.data = mt_col_blob(stmt, 11, &t->tag.len);
        if (!t->email)
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    mt_db_done(stmt);
    return st;
}

static mt_key_row token_key_row(const token_secrets *t)
{
    mt_key_row row = {.org_id = t->org_id, .id = t->id, .name = t->email, .tag = t->tag.data,
                      .tag_len = t->tag.len};
    memcpy(row.pk, t->pk, MT_SEAL_PK_LEN);
    return row;
}

/* The token secret must be the secret half of the token's public key: the
 * PIN's wrapping (or the recovery seal) vouches for the secret, so a public
 * key that differs was put there by someone else. */
static mt_status check_secret(mt_store *store, const token_secrets *t, const mt_secret *sk)
{
    uint8_t derived[MT_SEAL_PK_LEN];
    if (sk->len == MT_SEAL_SK_LEN && crypto_scalarmult_base(derived, sk->data) == 0 &&
        sodium_memcmp(derived, t->pk, MT_SEAL_PK_LEN) == 0)
        return MT_OK;
    return mt_tampered(store, t->org_id, t->email, "token %lld (%s): its secret does not match its "
                       "public key", (long long)t->id, t->email);
}

/* What is checked before a PIN is counted: the key's tag, the row's limits,
 * and for a login (strict, with a store key) that the PIN was wrapped with
 * the key; changing the PIN is how such a row gets it. */
static mt_status check_row(mt_store *store, const token_secrets *t, bool login)
{
    char what[400];
    mt_key_row row = token_key_row(t);
    mt_status st = mt_auth_tag_check(store, &row);
    snprintf(what, sizeof(what), "the PIN of token %lld (%s)", (long long)t->id, t->email);
    if (st == MT_OK)
        st = mt_pin_row_check(store, &t->pin, t->org_id, t->email, what);
    if (st == MT_OK && login && store->store_key && !t->pin.store_key && store->config.strict)
        st = mt_fail(MT_ERR_PIN_NOT_SET, "%s: its PIN was set before the store key file and the "
                     "config says strict: the SO sets a new one (mailtoken account reset-pin)", t->email);
    return st;
}

/* Unwraps the token secret with a PIN: the attempt is counted before Argon2id
 * runs (pin_attempt.c), and a locked token is refused without running it. */
static mt_status unwrap_with_pin(mt_store *store, token_secrets *t, const mt_secret *pin, bool login,
                                 mt_secret **sk)
{
    mt_attempt attempt;
    char ad[32];
    if (!t->pin_set)
        return mt_fail(MT_ERR_PIN_NOT_SET, "%s: no user PIN set yet (the SO sets the first one)", t->email);
    mt_status st = check_row(store, t, login);
    if (st != MT_OK || (st = mt_attempt_begin(store, MT_ATTEMPT_USER, t->id, &attempt)) != MT_OK)
        return st;
    token_ad(t->id, ad);
    st = mt_pin_row_unwrap(store, &t->pin, pin, ad, sk);
    if (st == MT_ERR_PIN_INCORRECT)
        st = mt_fail(MT_ERR_PIN_INCORRECT, "%s: incorrect PIN", t->email);
    if (st == MT_OK && (st = check_secret(store, t, *sk)) != MT_OK) {
        mt_secret_free(*sk);
        *sk = NULL;
    }
    return mt_attempt_end(store, &attempt, st);
}

/* The token secret through the recovery key (SO PIN, or the gateway's key file). */
static mt_status unwrap_with_recovery(mt_store *store, token_secrets *t, const mt_secret *so_pin,
                                      mt_secret **sk)
{
    uint8_t recovery_pk[MT_SEAL_PK_LEN];
    mt_secret *recovery_sk = NULL;
    mt_key_row row = token_key_row(t);
    mt_status st = mt_auth_tag_check(store, &row);
    if (st == MT_OK)
        st = mt_org_recovery_open(store, t->org_id, so_pin, recovery_pk, &recovery_sk);
    if (st == MT_OK)
        st = mt_seal_secret_open(recovery_pk, recovery_sk, t->recovery_sealed.data,
                                 t->recovery_sealed.len, sk);
    if (st == MT_ERR_CRYPTO && recovery_sk)
        st = mt_tampered(store, t->org_id, t->email, "token %lld (%s): its recovery seal does not "
                         "open with the organisation's recovery key", (long long)t->id, t->email);
    if (st == MT_OK && (st = check_secret(store, t, *sk)) != MT_OK) {
        mt_secret_free(*sk);
        *sk = NULL;
    }
    mt_secret_free(recovery_sk);
    return st;
}

mt_status mt_store_token_login(mt_store *store, int64_t token_id, const mt_secret *pin,
                               mt_secret **token_secret)
{
    token_secrets t;
    if (!store || !token_secret)
        return mt_fail(MT_ERR_INVALID, "store and token_secret are required");
    *token_secret = NULL;
    mt_status st = secrets_read(store, token_id, &t);
    if (st == MT_OK)
        st = pin ? unwrap_with_pin(store, &t, pin, true, token_secret)
                 : unwrap_with_recovery(store, &t, NULL, token_secret);
    if (st == MT_OK && pin) {
        /* existing PINs move to the configured limits and store key at their next login */
        char ad[32];
        token_ad(t.id, ad);
        mt_pin_rewrap r = {MT_PIN_USER, &t.pin, ad,
                           "UPDATE tokens SET pin_wrapped = ?1, pin_salt = ?2, pin_ops = ?3,"
                           " pin_mem = ?4, pin_store_key = ?5 WHERE id = ?6 AND pin_wrapped = ?7",
                           t.id, t.org_id, t.email, "token.rewrap"};
        mt_pin_row_rewrap(store, &r, pin, *token_secret);
    }
    secrets_clear(&t);
    return st;
}

mt_status mt_token_secret_with_so(mt_store *store, int64_t token_id, const mt_secret *so_pin,
                                  int64_t *org_id, char **email, uint8_t pk[MT_SEAL_PK_LEN],
                                  mt_secret **sk)
{
    token_secrets t;
    *sk = NULL;
    mt_status st = secrets_read(store, token_id, &t);
    if (st == MT_OK)
        st = unwrap_with_recovery(store, &t, so_pin, sk);
    if (st == MT_OK && !(*email = strdup(t.email))) {
        mt_secret_free(*sk);
        *sk = NULL;
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    if (st == MT_OK) {
        *org_id = t.org_id;
        memcpy(pk, t.pk, MT_SEAL_PK_LEN);
    }
    secrets_clear(&t);
    return st;
}

/* Stores a new PIN wrapping of the token secret, clears the counter, records the event. */
static mt_status store_pin(mt_store *store, token_secrets *t, const mt_secret *sk,
                           const mt_secret *new_pin, const char *action)
{
    mt_pin_row row = {0};
    char ad[32], detail[96];
    token_ad(t->id, ad);
    mt_status st = mt_pin_row_wrap(store, MT_PIN_USER, new_pin, sk, ad, &row);
    if (st == MT_OK)
        st = mt_pin_row_update(store,
                               "UPDATE tokens SET pin_wrapped = ?, pin_salt = ?, pin_ops = ?, pin_mem = ?,"
                               " pin_store_key = ?, max_failures = ?, updated_at = ?, failed_logins = 0"
                               " WHERE id = ?",
                               &row, store->config.pin_max_failures, t->id, "storing the PIN");
    mt_pin_row_clear(&row);
    snprintf(detail, sizeof(detail), "{\"token\":%lld}", (long long)t->id);
    if (st == MT_OK)
        st = mt_event_add(store, t->org_id, action, t->email, detail);
    /* a locked token opens again: that is an event of its own */
    snprintf(detail, sizeof(detail), "{\"token\":%lld,\"failedLogins\":%u}", (long long)t->id, t->failed);
    if (st == MT_OK && t->max_failures && t->failed >= t->max_failures)
        st = mt_event_add(store, t->org_id, "token.unlock", t->email, detail);
    return st;
}

/* set-pin (old PIN) and init-pin (SO PIN) differ only in how the secret is opened. */
static mt_status change_pin(mt_store *store, int64_t token_id, const mt_secret *old_pin,
                            const mt_secret *so_pin, const mt_secret *new_pin)
{
    token_secrets t;
    mt_secret *sk = NULL;
    if (!store || !new_pin || (!old_pin && !so_pin))
        return mt_fail(MT_ERR_INVALID, "store, PIN and new PIN are required");
    mt_status st = mt_pin_policy_check(&store->config, new_pin);
    if (st != MT_OK)
        return mt_fail_prefix(st, "new PIN: ");
    if ((st = mt_db_writable(store)) != MT_OK)
        return st;
    if ((st = secrets_read(store, token_id, &t)) != MT_OK)
        return st;
    /* unwrapping first, outside the transaction, so a wrong PIN's count is kept */
    st = old_pin ? unwrap_with_pin(store, &t, old_pin, false, &sk) : unwrap_with_recovery(store, &t, so_pin, &sk);
    if (st == MT_OK && (st = mt_tx_begin(store)) == MT_OK)
        st = mt_tx_end(store, store_pin(store, &t, sk, new_pin, old_pin ? "token.set-pin" : "token.init-pin"));
    if (st == MT_OK)
        mt_db_checkpoint(store); /* the old wrapping leaves the log */
    mt_secret_free(sk);
    secrets_clear(&t);
    return st;
}

mt_status mt_store_token_set_pin(mt_store *store, int64_t token_id, const mt_secret *old_pin,
                                 const mt_secret *new_pin)
{
    if (!old_pin)
        return mt_fail(MT_ERR_INVALID, "the current PIN is required");
    return change_pin(store, token_id, old_pin, NULL, new_pin);
}

mt_status mt_store_token_init_pin(mt_store *store, int64_t token_id, const mt_secret *so_pin,
                                  const mt_secret *new_pin)
{
    if (!so_pin)
        return mt_fail(MT_ERR_INVALID, "the SO PIN is required");
    return change_pin(store, token_id, NULL, so_pin, new_pin);
}
