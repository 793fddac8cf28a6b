/* The store's connection and the helpers every table file shares. */
#ifndef MT_STORE_DB_H
#define MT_STORE_DB_H

#include "backend.h"

#define MT_SCHEMA_VERSION 6
#define MT_STMT_CACHE 96

struct mt_store {
    const mt_backend *ops;
    void *conn;               /* the backend's connection (sqlite3 *, or db_pg.c's) */
    char *location;           /* as given: a file path or a connection URI */
    char *primary;            /* a server store's primary for writes (store_primary), or NULL */
    char *path;               /* shown in messages: the location without a password */
    char *actor;
    unsigned flags;
    mt_config config;         /* scalar settings copied at open (strings NULL but below) */
    char *recovery_key_file;  /* gateway mode: read when a token logs in without PIN */
    mt_secret *store_key;     /* store_key_file contents, or NULL */
    mt_secret *mac_key;       /* derived from store_key: tags the public keys (auth.c) */
    char *known_keys_path;    /* the importer's record of public keys (known_keys.c) */
    struct mt_known_keys *known; /* that record, read when first needed */
    struct mt_event_row *deferred; /* events to write once the transaction ends
                                      (a tampered row: its event outlives the rollback) */
    size_t n_deferred;
    mt_secret *scratch_sk;    /* reused for new token keys: sodium_malloc is costly per import */
    bool immutable;           /* SQLite read-only fallback: no -wal/-shm could be used */
    int64_t file_stamp;       /* immutable mode: db mtime+size when opened */
    int64_t data_version;     /* SQLite: PRAGMA data_version when generation was read */
    int tx_depth;             /* 0: no transaction open */
    int64_t changes_at_begin; /* total changes when the outermost began */
    uint64_t generation;      /* cached meta generation */
    bool generation_valid;
    char *warning;            /* found when opening (a store others can read), or NULL */
    struct {
        const char *sql;      /* literal: compared by address */
        mt_stmt *stmt;
    } stmts[MT_STMT_CACHE];
    size_t n_stmts;
    struct mt_store *counter; /* read-only store: the connection PIN attempts are
                                 counted on (mt_db_counter), or NULL */
};

/* Internal open flag: a read-only store's counter connection, which never
 * migrates the schema. */
#define MT_DB_COUNTER (1u << 30)

/* The store PIN attempts are written through: the store itself when it is
 * read-write (never inside a transaction: an attempt's count must outlive
 * whatever the caller rolls back), else a read-write connection of the
 * read-only store's own, opened on first use and used for nothing else.
 * MT_ERR_READONLY when this user cannot write the file. */
mt_status mt_db_counter(mt_store *store, mt_store **out);

/* Creates the directories leading to path (0700), as needed. */
mt_status mt_make_parent_dir(const char *path);

/* Closes the connection and its statements (the store stays, to connect again). */
void mt_db_disconnect(mt_store *store);

/* Maps the backend's error code rc to a status, naming what failed. */
mt_status mt_db_error(mt_store *store, int rc, const char *what);
/* A cached prepared statement for a literal SQL string (reset after use by mt_db_done). */
mt_status mt_db_stmt(mt_store *store, const char *sql, mt_stmt **out);
void mt_db_done(mt_stmt *stmt);
/* Runs a statement expected to finish with MT_DONE. */
mt_status mt_db_step_done(mt_store *store, mt_stmt *stmt, const char *what);
/* Runs a statement that may return one row: MT_OK with *found set. */
mt_status mt_db_step_row(mt_store *store, mt_stmt *stmt, const char *what, bool *found);
mt_status mt_db_exec(mt_store *store, const char *sql);
/* The id the last INSERT gave its row; the rows the last statement changed. */
int64_t mt_db_last_id(mt_store *store);
int64_t mt_db_changes(mt_store *store);

/* Write transactions nest through savepoints; end commits on MT_OK, else rolls back
 * (the status given is returned, so `return mt_tx_end(store, st);` reads well). */
mt_status mt_tx_begin(mt_store *store);
mt_status mt_tx_end(mt_store *store, mt_status status);
mt_status mt_db_writable(mt_store *store);
/* Adds a line to what mt_store_warning returns (printf-style). */
void mt_store_warn(mt_store *store, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After a PIN change: the write-ahead log is copied into the file and
 * truncated, so that the old wrapping is not left in the log (best effort:
 * a reader on an old snapshot makes it wait a moment, then it gives up).
 * Nothing to do on a server. */
void mt_db_checkpoint(mt_store *store);
/* A transaction outside the nesting above, for the PIN counters: begin (not
 * the store-wide writer lock: the counters serialise on their rows), commit
 * or roll back (end: rolls back unless status is MT_OK, returns the status). */
mt_status mt_db_counter_begin(mt_store *store);
mt_status mt_db_counter_end(mt_store *store, mt_status status);

/* Column helpers: malloc'd copies (NULL for SQL NULL). */
char *mt_col_text(mt_stmt *stmt, int col);
uint8_t *mt_col_blob(mt_stmt *stmt, int col, size_t *len);
void mt_bind_text_or_null(mt_stmt *stmt, int idx, const char *text);

/* Appends an audit event inside the current transaction.  detail: JSON object text. */
mt_status mt_event_add(mt_store *store, int64_t org_id, const char *action, const char *subject,
                       const char *detail);
/* An audit event that must stand whatever the caller's transaction becomes:
 * written now in a transaction of its own (on the PIN counter's connection
 * for a read-only store), or, inside a transaction, right after it ends.
 * Failing to write it changes nothing for the caller (best effort). */
void mt_event_outside(mt_store *store, int64_t org_id, const char *action, const char *subject,
                      const char *detail);
/* Called by mt_tx_end when the outermost transaction has ended: records of
 * known keys are written (committed) or dropped, deferred events written. */
void mt_tx_finished(mt_store *store, bool committed);
/* A row that failed its authentication: MT_ERR_TAMPERED with the message
 * "store tampered: <what>", and a store.tampered event (mt_event_outside). */
mt_status mt_tampered(mt_store *store, int64_t org_id, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* JSON string escaping into a caller buffer (truncates safely). */
void mt_json_escape(const char *in, char *out, size_t out_len);

/* MT_ERR_NOT_FOUND "organisation N not found" unless it exists (org.c). */
mt_status mt_org_exists(mt_store *store, int64_t org_id);

/* Schema, in migrations.c.  check: the file is a store this build can open
 * (or, version 0, an empty database that MT_OPEN_CREATE may make one), before
 * anything is written to it. */
mt_status mt_schema_check(mt_store *store);
mt_status mt_schema_migrate(mt_store *store);
int mt_schema_latest(void);

/* Text checks shared by the table files. */
mt_status mt_check_text(const char *field, const char *value, size_t max_len, bool required);
/* Lower-cased copy of a valid email (local@domain), or MT_ERR_INVALID naming field. */
mt_status mt_email_normalize(const char *field, const char *email, char **out);

#endif
