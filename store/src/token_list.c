/* The light token list behind the PKCS#11 module's slot list: one pass over
 * the tokens, whether each has an account from the accounts_token index, the
 * account's primary certificate (a row read per token) only when asked;
 * organisation names (a handful) from their own query; strings in one block. */
#include "db.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const BRIEF_SQL =
    "SELECT t.id, t.org_id, t.email, EXISTS (SELECT 1 FROM accounts a WHERE a.token_id = t.id), 0"
    " FROM tokens t ORDER BY t.id";
static const char *const BRIEF_INTERNAL_SQL =
    "SELECT t.id, t.org_id, t.email, a.id IS NOT NULL, COALESCE(c.has_key, 0)"
    " FROM tokens t LEFT JOIN accounts a ON a.token_id = t.id"
    " LEFT JOIN certificates c ON c.id = a.primary_cert_id"
    " ORDER BY t.id";
static const char *const ORG_SQL = "SELECT id, name FROM organizations ORDER BY id";

/* While the list grows, strings are offsets into the growing block. */
typedef struct builder {
    mt_token_brief *items;
    size_t *org_at, *email_at;
    size_t n, cap;
    char *text;
    size_t text_len, text_cap;
    int64_t *org_ids;       /* organisations in id order, their names at org_names */
    size_t *org_names, n_orgs;
} builder;

static bool text_add(builder *b, const unsigned char *value, size_t *at)
{
    size_t len = value ? strlen((const char *)value) : 0;
    if (b->text_len + len + 1 > b->text_cap) {
        size_t cap = b->text_cap ? b->text_cap * 2 : 4096;
        while (cap < b->text_len + len + 1)
            cap *= 2;
        char *grown = realloc(b->text, cap);
        if (!grown)
            return false;
        b->text = grown;
        b->text_cap = cap;
    }
    if (len)
        memcpy(b->text + b->text_len, value, len);
    b->text[b->text_len + len] = '\0';
    *at = b->text_len;
    b->text_len += len + 1;
    return true;
}

static bool grow(builder *b)
{
    if (b->n < b->cap)
        return true;
    size_t cap = b->cap ? b->cap * 2 : 256;
    mt_token_brief *items = realloc(b->items, cap * sizeof(*items));
    if (items)
        b->items = items;
    size_t *org_at = realloc(b->org_at, cap * sizeof(*org_at));
    if (org_at)
        b->org_at = org_at;
    size_t *email_at = realloc(b->email_at, cap * sizeof(*email_at));
    if (email_at)
        b->email_at = email_at;
    if (!items || !org_at || !email_at)
        return false;
    b->cap = cap;
    return true;
}

static bool org_add(builder *b, sqlite3_stmt *stmt)
{
    int64_t *ids = realloc(b->org_ids, (b->n_orgs + 1) * sizeof(*ids));
    if (ids)
        b->org_ids = ids;
    size_t *names = realloc(b->org_names, (b->n_orgs + 1) * sizeof(*names));
    if (names)
        b->org_names = names;
    if (!ids || !names || !text_add(b, sqlite3_column_text(stmt, 1), &b->org_names[b->n_orgs]))
        return false;
    b->org_ids[b->n_orgs++] = sqlite3_column_int64(stmt, 0);
    return true;
}

/* Position of the organisation's name in the block (binary search). */
static bool org_name_at(const builder *b, int64_t org_id, size_t *at)
{
    size_t lo = 0, hi = b->n_orgs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->org_ids[mid] < org_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == b->n_orgs || b->org_ids[lo] != org_id)
        return false;
    *at = b->org_names[lo];
    return true;
}

static bool row_add(builder *b, sqlite3_stmt *stmt)
{
    if (!grow(b))
        return false;
    mt_token_brief *t = &b->items[b->n];
    t->id = sqlite3_column_int64(stmt, 0);
    t->org_id = sqlite3_column_int64(stmt, 1);
    t->has_account = sqlite3_column_int(stmt, 3) != 0;
    t->internal = sqlite3_column_int(stmt, 4) != 0;
    if (!org_name_at(b, t->org_id, &b->org_at[b->n]))
        return false; /* cannot happen: tokens reference their organisation */
    if (!text_add(b, sqlite3_column_text(stmt, 2), &b->email_at[b->n]))
        return false;
    b->n++;
    return true;
}

/* Runs a query, handing each row to `add`. */
static mt_status rows(mt_store *store, const char *sql, builder *b,
                      bool (*add)(builder *, sqlite3_stmt *))
{
    sqlite3_stmt *stmt = NULL;
    int rc = SQLITE_DONE;
    mt_status st = mt_db_stmt(store, sql, &stmt);
    while (st == MT_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (!add(b, stmt))
            st = mt_fail(MT_ERR_DB, "listing tokens: out of memory or an unknown organisation");
    if (st == MT_OK && rc != SQLITE_DONE)
        st = mt_db_error(store, rc, "listing tokens");
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_token_briefs(mt_store *store, bool with_internal, mt_token_briefs *out)
{
    builder b = {0};
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    memset(out, 0, sizeof(*out));
    /* one read transaction: the organisations match the tokens */
    mt_status st = mt_db_exec(store, "BEGIN");
    if (st != MT_OK)
        return st;
    st = rows(store, ORG_SQL, &b, org_add);
    if (st == MT_OK)
        st = rows(store, with_internal ? BRIEF_INTERNAL_SQL : BRIEF_SQL, &b, row_add);
    if (st == MT_OK)
        st = mt_db_exec(store, "COMMIT");
    else
        mt_db_exec(store, "ROLLBACK");
    if (st != MT_OK)
        goto out;
    for (size_t i = 0; i < b.n; i++) {
        b.items[i].org_name = b.text + b.org_at[i];
        b.items[i].email = b.text + b.email_at[i];
    }
    out->items = b.items;
    out->n = b.n;
    out->strings = b.text;
    b.items = NULL;
    b.text = NULL;
out:
    free(b.items);
    free(b.text);
    free(b.org_at);
    free(b.email_at);
    free(b.org_ids);
    free(b.org_names);
    return st;
}

void mt_token_briefs_clear(mt_token_briefs *list)
{
    if (!list)
        return;
    free(list->items);
    free(list->strings);
    memset(list, 0, sizeof(*list));
}
