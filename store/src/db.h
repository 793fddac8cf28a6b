/* The store's SQLite connection and the helpers every table file shares. */
#ifndef MT_STORE_DB_H
#define MT_STORE_DB_H

#include "internal.h"

#include <sqlite3.h>

#define MT_SCHEMA_VERSION 1
#define MT_STMT_CACHE 96

struct mt_store {
    sqlite3 *db;
    char *path;
    char *actor;
    unsigned flags;
    mt_config config;         /* scalar settings copied at open (strings NULL but below) */
    char *recovery_key_file;  /* gateway mode: read when a token logs in without PIN */
    mt_secret *store_key;     /* store_key_file contents, or NULL */
    mt_secret *scratch_sk;    /* reused for new token keys: sodium_malloc is costly per import */
    bool immutable;           /* read-only fallback: no -wal/-shm could be used */
    int64_t file_stamp;       /* immutable mode: db mtime+size when opened */
    int tx_depth;             /* 0: no transaction open */
    int64_t changes_at_begin; /* sqlite3_total_changes64 when the outermost began */
    int64_t data_version;     /* PRAGMA data_version when generation was read */
    uint64_t generation;      /* cached meta generation */
    bool generation_valid;
    struct {
        const char *sql;      /* literal: compared by address */
        sqlite3_stmt *stmt;
    } stmts[MT_STMT_CACHE];
    size_t n_stmts;
};

/* Maps the connection's last SQLite error to a status, naming what failed. */
mt_status mt_db_error(mt_store *store, int rc, const char *what);
/* A cached prepared statement for a literal SQL string (reset after use by mt_db_done). */
mt_status mt_db_stmt(mt_store *store, const char *sql, sqlite3_stmt **out);
void mt_db_done(sqlite3_stmt *stmt);
/* Runs a statement expected to finish with SQLITE_DONE. */
mt_status mt_db_step_done(mt_store *store, sqlite3_stmt *stmt, const char *what);
/* Runs a statement that may return one row: MT_OK with *found set. */
mt_status mt_db_step_row(mt_store *store, sqlite3_stmt *stmt, const char *what, bool *found);
mt_status mt_db_exec(mt_store *store, const char *sql);

/* Write transactions nest through savepoints; end commits on MT_OK, else rolls back
 * (the status given is returned, so `return mt_tx_end(store, st);` reads well). */
mt_status mt_tx_begin(mt_store *store);
mt_status mt_tx_end(mt_store *store, mt_status status);
mt_status mt_db_writable(mt_store *store);

/* Column helpers: malloc'd copies (NULL for SQL NULL). */
char *mt_col_text(sqlite3_stmt *stmt, int col);
uint8_t *mt_col_blob(sqlite3_stmt *stmt, int col, size_t *len);
int mt_bind_text_or_null(sqlite3_stmt *stmt, int idx, const char *text);

/* Appends an audit event inside the current transaction.  detail: JSON object text. */
mt_status mt_event_add(mt_store *store, int64_t org_id, const char *action, const char *subject,
                       const char *detail);
/* JSON string escaping into a caller buffer (truncates safely). */
void mt_json_escape(const char *in, char *out, size_t out_len);

/* MT_ERR_NOT_FOUND "organisation N not found" unless it exists (org.c). */
mt_status mt_org_exists(mt_store *store, int64_t org_id);

/* Schema, in migrations.c. */
mt_status mt_schema_migrate(mt_store *store);
int mt_schema_latest(void);

/* Text checks shared by the table files. */
mt_status mt_check_text(const char *field, const char *value, size_t max_len, bool required);
/* Lower-cased copy of a valid email (local@domain), or MT_ERR_INVALID naming field. */
mt_status mt_email_normalize(const char *field, const char *email, char **out);

#endif
