/* The light token list behind the PKCS#11 module's slot list, built for
 * stores of a hundred thousand accounts.  Sequential passes inside one
 * read transaction, none probing an index per token:
 *   - the tokens, from their (org_id, email) index, which holds id, org_id
 *     and email and is a fraction of the table's size;
 *   - the accounts, in token order from their token index (with the
 *     primary's has_key only when `internal` is asked), merged in;
 *   - the organisation names (a handful).
 * The id order the slot list needs is restored in memory, without a copy
 * of the list; strings go in one block the list owns. */
#include "db.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const SIZE_SQL = "SELECT count(*), COALESCE(MAX(id), 0) FROM tokens";
static const char *const TOKENS_SQL = "SELECT id, org_id, email FROM tokens ORDER BY id";
static const char *const ACCOUNTS_SQL = "SELECT token_id, 0 FROM accounts ORDER BY token_id";
static const char *const ACCOUNTS_INTERNAL_SQL =
    "SELECT a.token_id, COALESCE(c.has_key, 0) FROM accounts a"
    " LEFT JOIN certificates c ON c.id = a.primary_cert_id ORDER BY a.token_id";
static const char *const ORG_SQL = "SELECT id, name FROM organizations ORDER BY id";

typedef struct builder {
    mt_token_brief *items;  /* dense ids: at their id, else appended */
    size_t *email_at;       /* beside each item: its email's offset in text */
    size_t n, cap;
    bool by_id;             /* items[id] is token id's place */
    size_t merged;          /* accounts pass: next item to look at */
    char *text;             /* every string, pointed to once complete */
    size_t text_len, text_cap;
    int64_t *org_ids;       /* organisations in id order, their names at org_names */
    size_t *org_names, n_orgs;
} builder;

static bool text_add(builder *b, const char *value, size_t *at)
{
    size_t len = value ? strlen(value) : 0;
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

static bool org_add(builder *b, mt_stmt *stmt)
{
    int64_t *ids = realloc(b->org_ids, (b->n_orgs + 1) * sizeof(*ids));
    if (ids)
        b->org_ids = ids;
    size_t *names = realloc(b->org_names, (b->n_orgs + 1) * sizeof(*names));
    if (names)
        b->org_names = names;
    if (!ids || !names || !text_add(b, mt_col_peek_text(stmt, 1), &b->org_names[b->n_orgs]))
        return false;
    b->org_ids[b->n_orgs++] = mt_col_int64(stmt, 0);
    return true;
}

/* Position of the organisation's name in text (binary search). */
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

/* Where the token goes: its id's place, or the end (sparse ids, growing). */
static bool token_place(builder *b, int64_t id, size_t *pos)
{
    if (b->by_id) {
        *pos = (size_t)id;
        return id > 0 && (size_t)id < b->cap && b->items[id].id == 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap * 2 + 256;
        mt_token_brief *items = realloc(b->items, cap * sizeof(*items));
        if (items)
            b->items = items;
        size_t *email_at = realloc(b->email_at, cap * sizeof(*email_at));
        if (email_at)
            b->email_at = email_at;
        if (!items || !email_at)
            return false;
        b->cap = cap;
    }
    *pos = b->n;
    return true;
}

static bool token_add(builder *b, mt_stmt *stmt)
{
    int64_t id = mt_col_int64(stmt, 0), org_id = mt_col_int64(stmt, 1);
    size_t pos = 0;
    /* ids are positive and unique: anything else is a damaged store */
    if (!token_place(b, id, &pos) || !text_add(b, mt_col_peek_text(stmt, 2), &b->email_at[pos]))
        return false;
    b->items[pos] = (mt_token_brief){.id = id, .org_id = org_id};
    b->n++;
    return true;
}

/* The text is complete: the items' strings can point into it. */
static mt_status resolve_strings(builder *b)
{
    size_t end = b->by_id ? b->cap : b->n;
    for (size_t i = 0; i < end; i++) {
        mt_token_brief *t = &b->items[i];
        size_t org_at = 0;
        if (t->id == 0)
            continue;
        if (!org_name_at(b, t->org_id, &org_at)) /* cannot be: foreign keys */
            return mt_fail(MT_ERR_DB, "listing tokens: token %lld of unknown organisation %lld",
                           (long long)t->id, (long long)t->org_id);
        t->org_name = b->text + org_at;
        t->email = b->text + b->email_at[i];
    }
    return MT_OK;
}

/* Accounts come in token order, as the items are once ordered: a merge. */
static bool account_add(builder *b, mt_stmt *stmt)
{
    int64_t token_id = mt_col_int64(stmt, 0);
    while (b->merged < b->n && b->items[b->merged].id < token_id)
        b->merged++;
    if (b->merged < b->n && b->items[b->merged].id == token_id) {
        mt_token_brief *t = &b->items[b->merged];
        t->has_account = true;
        t->internal = t->internal || mt_col_int(stmt, 1) != 0;
    }
    return true; /* an account without its token cannot be: foreign keys */
}

/* Runs a query, handing each row to `add`. */
static mt_status rows(mt_store *store, const char *sql, builder *b,
                      bool (*add)(builder *, mt_stmt *))
{
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    mt_status st = mt_db_stmt(store, sql, &stmt);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW)
        if (!add(b, stmt))
            st = mt_fail(MT_ERR_DB, "listing tokens: out of memory, or a token with a bad id");
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing tokens");
    mt_db_done(stmt);
    return st;
}

/* How many tokens, and the highest id (count from the smallest index, max from the key). */
static mt_status token_range(mt_store *store, int64_t *count, int64_t *max_id)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, SIZE_SQL, &stmt);
    if (st == MT_OK)
        st = mt_db_step_row(store, stmt, "listing tokens", &found);
    *count = st == MT_OK && found ? mt_col_int64(stmt, 0) : 0;
    *max_id = st == MT_OK && found ? mt_col_int64(stmt, 1) : 0;
    mt_db_done(stmt);
    return st;
}

static int brief_cmp(const void *a, const void *b)
{
    int64_t x = ((const mt_token_brief *)a)->id, y = ((const mt_token_brief *)b)->id;
    return x < y ? -1 : x > y;
}

/* Ids are dense in practice (tokens go only with their organisation), so
 * each token is put at its id's place and the gaps closed in one pass; a
 * sparse range is appended and sorted instead.  The text block starts at
 * about the size the emails will need, so it seldom moves. */
static bool prepare(builder *b, int64_t count, int64_t max_id)
{
    b->by_id = count >= 0 && max_id >= 0 && max_id <= 2 * count + 1024;
    b->cap = b->by_id ? (size_t)max_id + 1 : (size_t)count + 1;
    b->items = calloc(b->cap, sizeof(*b->items));
    b->email_at = malloc(b->cap * sizeof(*b->email_at));
    b->text_cap = (size_t)count * 32 + 4096;
    b->text = malloc(b->text_cap);
    return b->items && b->email_at && b->text;
}

static void order_by_id(builder *b)
{
    if (!b->by_id) {
        qsort(b->items, b->n, sizeof(*b->items), brief_cmp);
        return;
    }
    size_t k = 0;
    for (size_t id = 1; id < b->cap; id++)
        if (b->items[id].id != 0)
            b->items[k++] = b->items[id];
    b->by_id = false; /* from here on items[0..n) in id order */
}

static mt_status collect(mt_store *store, bool with_internal, builder *b)
{
    int64_t count = 0, max_id = 0;
    mt_status st = token_range(store, &count, &max_id);
    if (st == MT_OK && !prepare(b, count, max_id))
        st = mt_fail(MT_ERR_NOMEM, "listing tokens: out of memory");
    if (st == MT_OK)
        st = rows(store, ORG_SQL, b, org_add);
    if (st == MT_OK)
        st = rows(store, TOKENS_SQL, b, token_add);
    if (st == MT_OK)
        st = resolve_strings(b);
    if (st == MT_OK) {
        order_by_id(b);
        st = rows(store, with_internal ? ACCOUNTS_INTERNAL_SQL : ACCOUNTS_SQL, b, account_add);
    }
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
    if (st == MT_OK) {
        out->items = b.items;
        out->n = b.n;
        out->strings = b.text;
        b.items = NULL;
        b.text = NULL;
    }
    free(b.items);
    free(b.email_at);
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
