/* Reading accounts: by email, by token, and paged lists. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_SELECT                                                                        \
    "SELECT a.id, a.org_id, a.email, a.token_id, a.primary_cert_id, c.has_key, a.created_at," \
    " a.updated_at FROM accounts a JOIN certificates c ON c.id = a.primary_cert_id"

void mt_account_free(mt_account *account)
{
    if (!account)
        return;
    free(account->email);
    free(account->history);
    free(account);
}

void mt_account_list_free(mt_account **accounts, size_t n)
{
    for (size_t i = 0; accounts && i < n; i++)
        mt_account_free(accounts[i]);
    free(accounts);
}

/* Builds an account from an ACCOUNT_SELECT row; *account_id for the history read. */
static mt_status account_from_row(mt_stmt *stmt, mt_account **out, int64_t *account_id)
{
    mt_account *a = calloc(1, sizeof(*a));
    if (!a)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    *account_id = mt_col_int64(stmt, 0);
    a->org_id = mt_col_int64(stmt, 1);
    a->email = mt_col_text(stmt, 2);
    a->token_id = mt_col_int64(stmt, 3);
    a->primary_cert_id = mt_col_int64(stmt, 4);
    a->internal = mt_col_int(stmt, 5) != 0;
    a->created_at = mt_col_int64(stmt, 6);
    a->updated_at = mt_col_int64(stmt, 7);
    if (!a->email) {
        mt_account_free(a);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    *out = a;
    return MT_OK;
}

static mt_status account_one(mt_store *store, mt_stmt *stmt, const char *what, mt_account **out)
{
    bool found = false;
    int64_t account_id = 0;
    mt_account *a = NULL;
    mt_status st = mt_db_step_row(store, stmt, "reading the account", &found);
    if (st == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "account %s not found", what);
    if (st == MT_OK)
        st = account_from_row(stmt, &a, &account_id);
    mt_db_done(stmt);
    if (st == MT_OK && (st = mt_account_history(store, account_id, &a->history, &a->n_history)) != MT_OK) {
        mt_account_free(a);
        a = NULL;
    }
    *out = a;
    return st;
}

mt_status mt_store_account_get(mt_store *store, int64_t org_id, const char *email, mt_account **out)
{
    mt_stmt *stmt = NULL;
    char *lower = NULL;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st == MT_OK)
        st = mt_db_stmt(store, ACCOUNT_SELECT " WHERE a.org_id = ? AND a.email = ?", &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, org_id);
        mt_bind_text(stmt, 2, lower);
        st = account_one(store, stmt, lower, out);
    }
    free(lower);
    return st;
}

mt_status mt_store_account_get_by_token(mt_store *store, int64_t token_id, mt_account **out)
{
    mt_stmt *stmt = NULL;
    char what[48];
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = mt_db_stmt(store, ACCOUNT_SELECT " WHERE a.token_id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, token_id);
    snprintf(what, sizeof(what), "of token %lld", (long long)token_id);
    return account_one(store, stmt, what, out);
}

static mt_status count_accounts(mt_store *store, int64_t org_id, size_t *total)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT count(*) FROM accounts WHERE org_id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    st = mt_db_step_row(store, stmt, "counting accounts", &found);
    *total = found ? (size_t)mt_col_int64(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_account_list(mt_store *store, int64_t org_id, size_t limit, size_t offset,
                                mt_account ***out, size_t *n, size_t *total)
{
    mt_stmt *stmt = NULL;
    mt_account **accounts = NULL;
    int64_t *ids = NULL;
    size_t count = 0;
    int rc = MT_DONE;
    if (!store || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = total ? count_accounts(store, org_id, total) : MT_OK;
    if (st == MT_OK)
        st = mt_db_stmt(store, ACCOUNT_SELECT " WHERE a.org_id = ? ORDER BY a.email LIMIT ? OFFSET ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_int64(stmt, 2, limit ? (int64_t)limit : INT64_MAX); /* no limit */
    mt_bind_int64(stmt, 3, (int64_t)offset);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        mt_account **grown = realloc(accounts, (count + 1) * sizeof(*grown));
        int64_t *grown_ids = grown ? realloc(ids, (count + 1) * sizeof(*grown_ids)) : NULL;
        if (grown)
            accounts = grown;
        if (!grown || !grown_ids) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        ids = grown_ids;
        if ((st = account_from_row(stmt, &accounts[count], &ids[count])) == MT_OK)
            count++;
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing accounts");
    mt_db_done(stmt);
    for (size_t i = 0; st == MT_OK && i < count; i++)
        st = mt_account_history(store, ids[i], &accounts[i]->history, &accounts[i]->n_history);
    free(ids);
    if (st != MT_OK) {
        mt_account_list_free(accounts, count);
        return st;
    }
    *out = accounts;
    *n = count;
    return MT_OK;
}
