/* Email accounts and the store's rules, worded as the managed-store API words them. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRIMARY_RULE "primaryCertificateId must be present in certificateHistory"

/* 404 when the certificate is not in the organisation, 400 when it does not
 * name the email (email NULL: any certificate of the organisation will do). */
static mt_status check_cert(mt_store *store, int64_t org_id, const char *email, int64_t cert_id,
                            const char *field)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store,
                              "SELECT EXISTS (SELECT 1 FROM certificate_emails WHERE cert_id = c.id AND email = ?3)"
                              " FROM certificates c WHERE c.id = ?1 AND c.org_id = ?2",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    mt_bind_int64(stmt, 2, org_id);
    mt_bind_text(stmt, 3, email ? email : "");
    st = mt_db_step_row(store, stmt, "checking the certificate", &found);
    if (st == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "%s: certificate %lld not found", field, (long long)cert_id);
    else if (st == MT_OK && email && !mt_col_int(stmt, 0))
        st = mt_fail(MT_ERR_INVALID, "%s: certificate %lld does not name %s", field, (long long)cert_id, email);
    mt_db_done(stmt);
    return st;
}

/* Account row id and primary (0 when absent, with MT_ERR_NOT_FOUND). */
static mt_status find_account(mt_store *store, int64_t org_id, const char *email, int64_t *account_id,
                              int64_t *primary)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    *account_id = 0;
    mt_status st = mt_db_stmt(store, "SELECT id, primary_cert_id FROM accounts WHERE org_id = ? AND email = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, email);
    if ((st = mt_db_step_row(store, stmt, "finding the account", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "account %s not found", email);
    if (st == MT_OK) {
        *account_id = mt_col_int64(stmt, 0);
        if (primary)
            *primary = mt_col_int64(stmt, 1);
    }
    mt_db_done(stmt);
    return st;
}

static mt_status in_history(mt_store *store, int64_t account_id, int64_t cert_id, bool *present)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, "SELECT 1 FROM account_certificates WHERE account_id = ? AND cert_id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, account_id);
    mt_bind_int64(stmt, 2, cert_id);
    st = mt_db_step_row(store, stmt, "reading the history", present);
    mt_db_done(stmt);
    return st;
}

static mt_status history_insert(mt_store *store, int64_t account_id, int64_t cert_id)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store,
                              "INSERT INTO account_certificates (account_id, cert_id, added_at) VALUES (?, ?, ?)"
                              " ON CONFLICT DO NOTHING",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, account_id);
    mt_bind_int64(stmt, 2, cert_id);
    mt_bind_int64(stmt, 3, mt_now());
    st = mt_db_step_done(store, stmt, "adding to the history");
    mt_db_done(stmt);
    return st;
}

static mt_status touch_account(mt_store *store, int64_t account_id, int64_t primary)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, "UPDATE accounts SET primary_cert_id = ?, updated_at = ? WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, primary);
    mt_bind_int64(stmt, 2, mt_now());
    mt_bind_int64(stmt, 3, account_id);
    st = mt_db_step_done(store, stmt, "updating the account");
    mt_db_done(stmt);
    return st;
}

static void history_json(const int64_t *history, size_t n, char *out, size_t len)
{
    size_t used = (size_t)snprintf(out, len, "[");
    for (size_t i = 0; i < n && used + 24 < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", i ? "," : "", (long long)history[i]);
    snprintf(out + used, len - used, "]");
}

static mt_status validate_create(mt_store *store, int64_t org_id, const char *email,
                                 int64_t primary_cert_id, const int64_t *history, size_t n_history)
{
    int64_t account_id = 0;
    bool primary_listed = false;
    for (size_t i = 0; i < n_history; i++)
        primary_listed |= history[i] == primary_cert_id;
    if (!primary_listed)
        return mt_fail(MT_ERR_INVALID, PRIMARY_RULE);
    mt_status st = mt_org_exists(store, org_id);
    if (st != MT_OK)
        return st;
    st = find_account(store, org_id, email, &account_id, NULL);
    if (st == MT_OK)
        return mt_fail(MT_ERR_CONFLICT, "account %s already exists", email);
    if (st != MT_ERR_NOT_FOUND)
        return st;
    mt_clear_error();
    st = MT_OK;
    for (size_t i = 0; st == MT_OK && i < n_history; i++)
        st = check_cert(store, org_id, email, history[i], "certificateHistory");
    return st;
}

mt_status mt_store_account_create(mt_store *store, int64_t org_id, const char *email,
                                  int64_t primary_cert_id, const int64_t *history,
                                  size_t n_history)
{
    char *lower = NULL;
    mt_stmt *stmt = NULL;
    mt_trusted_pk pk;
    int64_t token_id = 0, account_id = 0;
    char detail[1024], list[900];
    if (!store || (n_history && !history))
        return mt_fail(MT_ERR_INVALID, "store and certificateHistory are required");
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st != MT_OK)
        return st;
    if ((st = mt_tx_begin(store)) != MT_OK)
        goto done;
    if ((st = validate_create(store, org_id, lower, primary_cert_id, history, n_history)) != MT_OK)
        goto out;
    if ((st = mt_token_ensure(store, org_id, lower, &token_id, &pk)) != MT_OK)
        goto out;
    st = mt_db_stmt(store,
                    "INSERT INTO accounts (org_id, email, token_id, primary_cert_id, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    &stmt);
    if (st != MT_OK)
        goto out;
    int64_t now = mt_now();
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, lower);
    mt_bind_int64(stmt, 3, token_id);
    mt_bind_int64(stmt, 4, primary_cert_id);
    mt_bind_int64(stmt, 5, now);
    mt_bind_int64(stmt, 6, now);
    st = mt_db_step_done(store, stmt, "creating the account");
    mt_db_done(stmt);
    account_id = mt_db_last_id(store);
    for (size_t i = 0; st == MT_OK && i < n_history; i++)
        st = history_insert(store, account_id, history[i]);
    if (st != MT_OK)
        goto out;
    history_json(history, n_history, list, sizeof(list));
    snprintf(detail, sizeof(detail), "{\"primaryCertificateId\":%lld,\"certificateHistory\":%s,\"token\":%lld}",
             (long long)primary_cert_id, list, (long long)token_id);
    st = mt_event_add(store, org_id, "account.create", lower, detail);
out:
    st = mt_tx_end(store, st);
done:
    free(lower);
    return st;
}

static mt_status cert_has_key(mt_store *store, int64_t cert_id, bool *has_key)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT has_key FROM certificates WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    st = mt_db_step_row(store, stmt, "reading the certificate", &found);
    *has_key = found && mt_col_int(stmt, 0) != 0;
    mt_db_done(stmt);
    return st;
}

/* An internal account (its primary has a private key) signs and decrypts:
 * its primary must keep a key, as the managed-store API requires, unless the
 * caller means to make the account external. */
static mt_status check_primary_key(mt_store *store, int64_t primary, int64_t cert_id, unsigned flags)
{
    bool old_key = false, new_key = false;
    mt_status st = cert_has_key(store, primary, &old_key);
    if (st == MT_OK && old_key)
        st = cert_has_key(store, cert_id, &new_key);
    if (st == MT_OK && old_key && !new_key && !(flags & MT_PRIMARY_EXTERNAL))
        st = mt_fail(MT_ERR_INVALID,
                     "primaryCertificateId: certificate %lld has no private key; the primary of "
                     "an internal account must have one for signing and decryption",
                     (long long)cert_id);
    return st;
}

/* The changes of a certificate's place in an account share their checks. */
typedef enum history_change { SET_PRIMARY, ADD_TO_HISTORY, REMOVE_FROM_HISTORY } history_change;

static const char *const change_actions[] = {"account.set-primary", "account.add-to-history",
                                             "account.remove-from-history"};

static mt_status history_delete(mt_store *store, int64_t account_id, int64_t cert_id)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, "DELETE FROM account_certificates WHERE account_id = ? AND cert_id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, account_id);
    mt_bind_int64(stmt, 2, cert_id);
    st = mt_db_step_done(store, stmt, "removing from the history");
    mt_db_done(stmt);
    return st;
}

static mt_status apply_change(mt_store *store, int64_t org_id, const char *email, int64_t cert_id,
                              history_change change, unsigned flags)
{
    int64_t account_id = 0, primary = 0;
    bool present = false;
    char detail[96];
    const char *field = change == SET_PRIMARY ? "primaryCertificateId" : "certificateHistory";
    mt_status st = find_account(store, org_id, email, &account_id, &primary);
    if (st == MT_OK) /* removing: whatever the certificate names */
        st = check_cert(store, org_id, change == REMOVE_FROM_HISTORY ? NULL : email, cert_id, field);
    if (st == MT_OK)
        st = in_history(store, account_id, cert_id, &present);
    if (st != MT_OK)
        return st;
    if (change == SET_PRIMARY) {
        if (!present)
            return mt_fail(MT_ERR_INVALID, PRIMARY_RULE);
        if (primary == cert_id)
            return MT_OK;
        if ((st = check_primary_key(store, primary, cert_id, flags)) != MT_OK)
            return st;
        snprintf(detail, sizeof(detail), "{\"from\":%lld,\"to\":%lld}", (long long)primary, (long long)cert_id);
        primary = cert_id;
    } else if (change == ADD_TO_HISTORY) {
        if (present) /* idempotent: nothing changes, nothing is recorded */
            return MT_OK;
        if ((st = history_insert(store, account_id, cert_id)) != MT_OK)
            return st;
        snprintf(detail, sizeof(detail), "{\"certificateId\":%lld}", (long long)cert_id);
    } else {
        if (cert_id == primary)
            return mt_fail(MT_ERR_INVALID, PRIMARY_RULE ": certificate %lld is the primary (make "
                           "another certificate the primary first)", (long long)cert_id);
        if (!present) /* idempotent, like adding */
            return MT_OK;
        if ((st = history_delete(store, account_id, cert_id)) != MT_OK)
            return st;
        snprintf(detail, sizeof(detail), "{\"certificateId\":%lld}", (long long)cert_id);
    }
    if ((st = touch_account(store, account_id, primary)) != MT_OK)
        return st;
    return mt_event_add(store, org_id, change_actions[change], email, detail);
}

static mt_status change_in_tx(mt_store *store, int64_t org_id, const char *email, int64_t cert_id,
                              history_change change, unsigned flags)
{
    char *lower = NULL;
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st == MT_OK && (st = mt_tx_begin(store)) == MT_OK)
        st = mt_tx_end(store, apply_change(store, org_id, lower, cert_id, change, flags));
    free(lower);
    return st;
}

mt_status mt_store_account_set_primary(mt_store *store, int64_t org_id, const char *email,
                                       int64_t cert_id)
{
    return change_in_tx(store, org_id, email, cert_id, SET_PRIMARY, 0);
}

mt_status mt_store_account_set_primary_ex(mt_store *store, int64_t org_id, const char *email,
                                          int64_t cert_id, unsigned flags)
{
    return change_in_tx(store, org_id, email, cert_id, SET_PRIMARY, flags);
}

mt_status mt_store_account_add_to_history(mt_store *store, int64_t org_id, const char *email,
                                          int64_t cert_id)
{
    return change_in_tx(store, org_id, email, cert_id, ADD_TO_HISTORY, 0);
}

mt_status mt_store_account_remove_from_history(mt_store *store, int64_t org_id, const char *email,
                                               int64_t cert_id)
{
    return change_in_tx(store, org_id, email, cert_id, REMOVE_FROM_HISTORY, 0);
}

/* Certificate ids of an account's history, oldest first. */
mt_status mt_account_history(mt_store *store, int64_t account_id, int64_t **out, size_t *n)
{
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    *out = NULL;
    *n = 0;
    mt_status st = mt_db_stmt(store, "SELECT cert_id FROM account_certificates WHERE account_id = ? ORDER BY rowid", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, account_id);
    while ((rc = mt_step(stmt)) == MT_ROW) {
        int64_t *grown = realloc(*out, (*n + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        *out = grown;
        (*out)[(*n)++] = mt_col_int64(stmt, 0);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "reading the history");
    mt_db_done(stmt);
    if (st != MT_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

/* The token outlives its account (slot numbers), its user PIN and counter do
 * not: the next holder of the address gets a PIN from the SO, never this one.
 * *cleared: there was a PIN or a count to clear. */
static mt_status delete_account_row(mt_store *store, int64_t account_id, bool *cleared)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store,
                              "UPDATE tokens SET pin_wrapped = NULL, pin_salt = NULL, pin_ops = NULL,"
                              " pin_mem = NULL, pin_store_key = NULL, failed_logins = 0, updated_at = ?"
                              " WHERE id = (SELECT token_id FROM accounts WHERE id = ?)"
                              " AND (pin_wrapped IS NOT NULL OR failed_logins > 0)",
                              &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, mt_now());
        mt_bind_int64(stmt, 2, account_id);
        st = mt_db_step_done(store, stmt, "clearing the token's PIN");
        *cleared = mt_db_changes(store) > 0;
        mt_db_done(stmt);
    }
    if (st == MT_OK && (st = mt_db_stmt(store, "DELETE FROM accounts WHERE id = ?", &stmt)) == MT_OK) {
        mt_bind_int64(stmt, 1, account_id);
        st = mt_db_step_done(store, stmt, "deleting the account");
        mt_db_done(stmt);
    }
    return st;
}

/* Purge: the certificates of the deleted account that no other account uses. */
static mt_status purge_unused(mt_store *store, const int64_t *history, size_t n)
{
    mt_status st = MT_OK;
    for (size_t i = 0; st == MT_OK && i < n; i++) {
        st = mt_cert_delete_row(store, history[i]);
        if (st == MT_ERR_CONFLICT || st == MT_ERR_NOT_FOUND) {
            mt_clear_error();
            st = MT_OK;
        }
    }
    return st;
}

mt_status mt_store_account_delete(mt_store *store, int64_t org_id, const char *email, bool purge)
{
    char *lower = NULL;
    int64_t account_id = 0, *history = NULL;
    size_t n = 0;
    char detail[64];
    bool cleared = false;
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st != MT_OK)
        return st;
    if ((st = mt_tx_begin(store)) != MT_OK)
        goto done;
    if ((st = find_account(store, org_id, lower, &account_id, NULL)) != MT_OK ||
        (st = mt_account_history(store, account_id, &history, &n)) != MT_OK ||
        (st = delete_account_row(store, account_id, &cleared)) != MT_OK)
        goto out;
    snprintf(detail, sizeof(detail), "{\"purge\":%s,\"pinCleared\":%s}", purge ? "true" : "false",
             cleared ? "true" : "false");
    if ((st = mt_event_add(store, org_id, "account.delete", lower, detail)) == MT_OK && purge)
        st = purge_unused(store, history, n);
out:
    st = mt_tx_end(store, st);
done:
    free(history);
    free(lower);
    return st;
}
