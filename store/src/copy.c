/* Copying a store into another, whichever backends they use: every table's
 * rows with their ids, values as they are (sealed keys are never opened),
 * then a check that both sides hold the same rows. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Parents before children, as the foreign keys need them.  The meta table is
 * each store's own (schema version, generation). */
static const char *const TABLES[] = {
    "organizations", "tokens", "certificates", "certificate_emails", "chain_certificates",
    "certificate_chain", "sealed_keys", "accounts", "account_certificates", "ca_profiles",
    "renewals", "ca_messages", "events", "api_keys",
};
#define N_TABLES (sizeof(TABLES) / sizeof(TABLES[0]))

/* A sum of row hashes in four 64-bit lanes: the same rows give the same
 * digest in whatever order a backend returns them. */
typedef struct digest {
    uint64_t lane[4];
} digest;

/* SQLite's implicit rowid is a column of its own on a server: not copied. */
static bool copied_column(mt_stmt *stmt, int col)
{
    return strcmp(stmt->ops->col_name(stmt, col), "rowid") != 0;
}

/* A value as the digest sees it: integers (times included: a server's
 * timestamptz reads as Unix seconds) as their decimal text, as SQLite gives
 * it, so that both backends digest the same rows alike. */
static const void *digested_value(mt_stmt *stmt, int c, uint8_t kind, char number[24], uint64_t *len)
{
    const void *value = NULL;
    *len = 0;
    if (kind == 'B') {
        value = mt_col_peek_blob(stmt, c);
        *len = (uint64_t)mt_col_bytes(stmt, c);
    } else if (kind == 'T' && stmt->ops->col_is_integer(stmt, c)) {
        snprintf(number, 24, "%lld", (long long)mt_col_int64(stmt, c));
        value = number;
        *len = strlen(number);
    } else if (kind == 'T') {
        value = mt_col_peek_text(stmt, c);
        *len = (uint64_t)mt_col_bytes(stmt, c);
    }
    return value;
}

static void digest_row(mt_stmt *stmt, digest *d)
{
    crypto_hash_sha256_state state;
    uint8_t hash[crypto_hash_sha256_BYTES];
    char number[24];
    crypto_hash_sha256_init(&state);
    for (int c = 0; c < stmt->ops->col_count(stmt); c++) {
        if (!copied_column(stmt, c))
            continue;
        const char *name = stmt->ops->col_name(stmt, c);
        uint8_t kind = mt_col_is_null(stmt, c) ? 'N' : stmt->ops->col_is_blob(stmt, c) ? 'B' : 'T';
        uint64_t len = 0;
        const void *value = digested_value(stmt, c, kind, number, &len);
        crypto_hash_sha256_update(&state, (const uint8_t *)name, strlen(name) + 1);
        crypto_hash_sha256_update(&state, &kind, 1);
        crypto_hash_sha256_update(&state, (const uint8_t *)&len, sizeof(len));
        if (len)
            crypto_hash_sha256_update(&state, value, len);
    }
    crypto_hash_sha256_final(&state, hash);
    for (int i = 0; i < 4; i++) {
        uint64_t part = 0;
        memcpy(&part, hash + 8 * i, 8);
        d->lane[i] += part;
    }
}

/* One-off statement (not cached: its text is built here). */
static mt_status prepare(mt_store *store, const char *sql, mt_stmt **out)
{
    return store->ops->prepare(store, sql, out);
}

static mt_status table_digest(mt_store *store, const char *table, size_t *rows, digest *d)
{
    char sql[96];
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
    memset(d, 0, sizeof(*d));
    *rows = 0;
    mt_status st = prepare(store, sql, &stmt);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        digest_row(stmt, d);
        (*rows)++;
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "reading a table");
    if (stmt)
        store->ops->finalize(stmt);
    return st;
}

/* INSERT INTO table (the source's columns) VALUES (?...) ON CONFLICT DO NOTHING */
static char *insert_sql(const char *table, mt_stmt *source)
{
    size_t cap = 128, len = 0;
    int n = source->ops->col_count(source);
    for (int c = 0; c < n; c++)
        cap += strlen(source->ops->col_name(source, c)) + 8;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    len += (size_t)snprintf(sql + len, cap - len, "INSERT INTO %s (", table);
    for (int c = 0, k = 0; c < n; c++)
        if (copied_column(source, c))
            len += (size_t)snprintf(sql + len, cap - len, "%s%s", k++ ? ", " : "",
                                    source->ops->col_name(source, c));
    len += (size_t)snprintf(sql + len, cap - len, ") VALUES (");
    for (int c = 0, k = 0; c < n; c++)
        if (copied_column(source, c))
            len += (size_t)snprintf(sql + len, cap - len, "%s?", k++ ? ", " : "");
    snprintf(sql + len, cap - len, ") ON CONFLICT DO NOTHING");
    return sql;
}

static void bind_row(mt_stmt *insert, mt_stmt *row)
{
    for (int c = 0, k = 1; c < row->ops->col_count(row); c++) {
        if (!copied_column(row, c))
            continue;
        if (mt_col_is_null(row, c))
            mt_bind_null(insert, k++);
        else if (row->ops->col_is_blob(row, c))
            mt_bind_blob(insert, k++, mt_col_peek_blob(row, c), (size_t)mt_col_bytes(row, c));
        else if (row->ops->col_is_integer(row, c))
            mt_bind_int64(insert, k++, mt_col_int64(row, c));
        else
            mt_bind_text(insert, k++, mt_col_peek_text(row, c));
    }
}

static mt_status copy_table(mt_store *from, mt_store *to, const char *table, size_t *copied)
{
    char sql[96];
    mt_stmt *rows = NULL, *insert = NULL;
    char *insert_text = NULL;
    int rc = MT_DONE;
    snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
    mt_status st = prepare(from, sql, &rows);
    while (st == MT_OK && (rc = mt_step(rows)) == MT_ROW) {
        if (!insert && !(insert_text = insert_sql(table, rows)))
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
        if (st == MT_OK && !insert)
            st = prepare(to, insert_text, &insert);
        if (st != MT_OK)
            break;
        bind_row(insert, rows);
        if ((st = mt_db_step_done(to, insert, "copying a row")) == MT_OK)
            *copied += mt_db_changes(to) > 0;
        mt_stmt_reset(insert);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(from, rc, "reading a table");
    if (rows)
        from->ops->finalize(rows);
    if (insert)
        to->ops->finalize(insert);
    free(insert_text);
    return st;
}

/* A server's identity columns go on after the ids copied in (SQLite's
 * AUTOINCREMENT follows inserted ids by itself). */
static mt_status advance_ids(mt_store *to, const char *table)
{
    char sql[256];
    if (to->ops != &mt_backend_pg || !strcmp(table, "certificate_emails") ||
        !strcmp(table, "certificate_chain") || !strcmp(table, "sealed_keys") ||
        !strcmp(table, "account_certificates") || !strcmp(table, "ca_messages"))
        return MT_OK;
    snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
             " (SELECT COALESCE(MAX(id), 0) + 1 FROM %s), false)", table, table);
    return mt_db_exec(to, sql);
}

static void hex_digest(const digest *d, char out[65])
{
    for (int i = 0; i < 4; i++)
        snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)d->lane[i]);
}

static mt_status copy_and_verify(mt_store *from, mt_store *to, mt_copy_table *t)
{
    digest source, copy;
    size_t copy_rows = 0;
    mt_status st = copy_table(from, to, t->name, &t->copied);
    if (st == MT_OK)
        st = advance_ids(to, t->name);
    if (st == MT_OK)
        st = table_digest(from, t->name, &t->rows, &source);
    if (st == MT_OK)
        st = table_digest(to, t->name, &copy_rows, &copy);
    if (st == MT_OK && (copy_rows != t->rows || memcmp(&source, &copy, sizeof(source)) != 0))
        st = mt_fail(MT_ERR_CONFLICT, "%s: table %s differs after the copy (%zu rows, %zu in the "
                     "destination): it holds rows of another store", to->path, t->name, t->rows,
                     copy_rows);
    hex_digest(&source, t->digest);
    return st;
}

mt_status mt_store_copy(mt_store *from, mt_store *to, mt_copy_report *report)
{
    if (!from || !to || !report)
        return mt_fail(MT_ERR_INVALID, "from, to and report are required");
    memset(report, 0, sizeof(*report));
    int from_version = mt_store_schema_version(from), to_version = mt_store_schema_version(to);
    if (from_version != to_version)
        return mt_fail(MT_ERR_INVALID, "%s has schema version %d, %s %d: open the older once "
                       "read-write with this build first", from->path, from_version, to->path,
                       to_version);
    if (!(report->tables = calloc(N_TABLES, sizeof(*report->tables))))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    mt_status st = mt_tx_begin(to);
    for (size_t i = 0; st == MT_OK && i < N_TABLES; i++) {
        report->tables[i].name = TABLES[i];
        report->n_tables = i + 1;
        st = copy_and_verify(from, to, &report->tables[i]);
    }
    st = mt_tx_end(to, st);
    if (st != MT_OK)
        mt_copy_report_clear(report);
    return st;
}

void mt_copy_report_clear(mt_copy_report *report)
{
    if (!report)
        return;
    free(report->tables);
    report->tables = NULL;
    report->n_tables = 0;
}
