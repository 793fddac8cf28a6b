/* The light token list behind the PKCS#11 module's slot list, built for
 * stores of a hundred thousand accounts.  Three sequential passes inside one
 * read transaction, none probing an index per token:
 *   - the tokens, from their (org_id, email) index, which holds id, org_id
 *     and email and is a fraction of the table's size;
 *   - the accounts, in token order from their token index (with the
 *     primary's has_key only when `internal` is asked), merged in;
 *   - the organisation names (a handful).
 * The id order the slot list needs is restored in memory; strings go in one
 * block the list owns. */
#include "db.h"
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const MAX_ID_SQL = "SELECT COALESCE(MAX(id), 0) FROM tokens";
static const char *const TOKENS_SQL = "SELECT id, org_id, email FROM tokens";
static const char *const ACCOUNTS_SQL = "SELECT token_id, 0 FROM accounts ORDER BY token_id";
static const char *const ACCOUNTS_INTERNAL_SQL =
    "SELECT a.token_id, COALESCE(c.has_key, 0) FROM accounts a"
    " LEFT JOIN certificates c ON c.id = a.primary_cert_id ORDER BY a.token_id";
static const char *const ORG_SQL = "SELECT id, name FROM organizations ORDER BY id";

/* A token while the list is built: strings are offsets into the growing block. */
typedef struct row {
    int64_t id, org_id;
    size_t email_at;
    bool has_account, internal;
} row;

typedef struct builder {
    row *rows;              /* in the order the index gives them */
    size_t n, cap;
    size_t *order;          /* positions in rows, by token id */
    size_t merged;          /* accounts pass: next position in order */
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

static bool rows_reserve(builder *b, size_t cap)
{
    row *rows = realloc(b->rows, cap * sizeof(*rows));
    if (!rows)
        return false;
    b->rows = rows;
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

/* The organisation's name (binary search); NULL if unknown. */
static const char *org_name(const builder *b, const char *text, int64_t org_id)
{
    size_t lo = 0, hi = b->n_orgs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->org_ids[mid] < org_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->n_orgs && b->org_ids[lo] == org_id ? text + b->org_names[lo] : NULL;
}

static bool token_add(builder *b, sqlite3_stmt *stmt)
{
    if (b->n == b->cap && !rows_reserve(b, b->cap * 2 + 256))
        return false;
    row *r = &b->rows[b->n];
    r->id = sqlite3_column_int64(stmt, 0);
    r->org_id = sqlite3_column_int64(stmt, 1);
    r->has_account = r->internal = false;
    if (!text_add(b, sqlite3_column_text(stmt, 2), &r->email_at))
        return false;
    b->n++;
    return true;
}

/* Accounts come in token order, as the tokens are in b->order: a merge. */
static bool account_add(builder *b, sqlite3_stmt *stmt)
{
    int64_t token_id = sqlite3_column_int64(stmt, 0);
    while (b->merged < b->n && b->rows[b->order[b->merged]].id < token_id)
        b->merged++;
    if (b->merged < b->n && b->rows[b->order[b->merged]].id == token_id) {
        row *r = &b->rows[b->order[b->merged]];
        r->has_account = true;
        r->internal = r->internal || sqlite3_column_int(stmt, 1) != 0;
    }
    return true; /* an account without its token cannot be: foreign keys */
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
            st = mt_fail(MT_ERR_NOMEM, "listing tokens: out of memory");
    if (st == MT_OK && rc != SQLITE_DONE)
        st = mt_db_error(store, rc, "listing tokens");
    mt_db_done(stmt);
    return st;
}

static mt_status max_token_id(mt_store *store, int64_t *max_id)
{
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, MAX_ID_SQL, &stmt);
    if (st == MT_OK)
        st = mt_db_step_row(store, stmt, "listing tokens", &found);
    *max_id = st == MT_OK && found ? sqlite3_column_int64(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

typedef struct id_at {
    int64_t id;
    size_t at;
} id_at;

static int id_at_cmp(const void *a, const void *b)
{
    int64_t x = ((const id_at *)a)->id, y = ((const id_at *)b)->id;
    return x < y ? -1 : x > y;
}

/* b->order: positions of the rows by id.  Ids are dense in practice (tokens
 * go only with their organisation), so a table indexed by id does it in two
 * linear passes; a sparse range is sorted instead. */
static bool order_by_id(builder *b, int64_t max_id)
{
    if (!(b->order = malloc((b->n + 1) * sizeof(*b->order))))
        return false;
    bool dense = max_id >= 0 && (uint64_t)max_id <= 4 * (uint64_t)b->n + 4096;
    for (size_t i = 0; dense && i < b->n; i++)
        dense = b->rows[i].id >= 0 && b->rows[i].id <= max_id;
    if (dense) {
        size_t *at = calloc((size_t)max_id + 1, sizeof(*at));
        if (!at)
            return false;
        for (size_t i = 0; i < b->n; i++)
            at[b->rows[i].id] = i + 1;
        size_t k = 0;
        for (int64_t id = 0; id <= max_id; id++)
            if (at[id])
                b->order[k++] = at[id] - 1;
        free(at);
        return true;
    }
    id_at *pairs = malloc((b->n + 1) * sizeof(*pairs));
    if (!pairs)
        return false;
    for (size_t i = 0; i < b->n; i++)
        pairs[i] = (id_at){b->rows[i].id, i};
    qsort(pairs, b->n, sizeof(*pairs), id_at_cmp);
    for (size_t i = 0; i < b->n; i++)
        b->order[i] = pairs[i].at;
    free(pairs);
    return true;
}

/* The rows in id order as the public list, its strings pointing into the block. */
static mt_status finish(builder *b, mt_token_briefs *out)
{
    mt_token_brief *items = malloc((b->n + 1) * sizeof(*items));
    if (!items)
        return mt_fail(MT_ERR_NOMEM, "listing tokens: out of memory");
    for (size_t k = 0; k < b->n; k++) {
        const row *r = &b->rows[b->order[k]];
        items[k] = (mt_token_brief){.id = r->id,
                                    .org_id = r->org_id,
                                    .org_name = org_name(b, b->text, r->org_id),
                                    .email = b->text + r->email_at,
                                    .has_account = r->has_account,
                                    .internal = r->internal};
        if (!items[k].org_name) { /* cannot happen: tokens reference their organisation */
            free(items);
            return mt_fail(MT_ERR_DB, "listing tokens: token %lld of unknown organisation %lld",
                           (long long)r->id, (long long)r->org_id);
        }
    }
    out->items = items;
    out->n = b->n;
    out->strings = b->text;
    b->text = NULL;
    return MT_OK;
}

static mt_status collect(mt_store *store, bool with_internal, builder *b)
{
    int64_t max_id = 0;
    mt_status st = rows(store, ORG_SQL, b, org_add);
    if (st == MT_OK)
        st = max_token_id(store, &max_id);
    /* room for every token at once: ids bound their number */
    size_t guess = max_id > 0 && max_id < (1 << 22) ? (size_t)max_id : 1024;
    if (st == MT_OK && !rows_reserve(b, guess))
        st = mt_fail(MT_ERR_NOMEM, "listing tokens: out of memory");
    if (st == MT_OK)
        st = rows(store, TOKENS_SQL, b, token_add);
    if (st == MT_OK && !order_by_id(b, max_id))
        st = mt_fail(MT_ERR_NOMEM, "listing tokens: out of memory");
    if (st == MT_OK)
        st = rows(store, with_internal ? ACCOUNTS_INTERNAL_SQL : ACCOUNTS_SQL, b, account_add);
    return st;
}

mt_status mt_store_token_briefs(mt_store *store, bool with_internal, mt_token_briefs *out)
{
    builder b = {0};
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    memset(out, 0, sizeof(*out));
    /* one read transaction: the passes see the same store */
    mt_status st = mt_db_exec(store, "BEGIN");
    if (st != MT_OK)
        return st;
    st = collect(store, with_internal, &b);
    if (st == MT_OK)
        st = mt_db_exec(store, "COMMIT");
    else
        mt_db_exec(store, "ROLLBACK");
    if (st == MT_OK)
        st = finish(&b, out);
    free(b.rows);
    free(b.order);
    free(b.text);
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
