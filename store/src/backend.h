/* The database under the store, behind one interface: a SQLite file
 * (db_sqlite.c) or a PostgreSQL server reached through libpq (db_pg.c).
 * The schema, the migrations and every rule are written once, above this
 * layer; a backend supplies the connection, statements, transactions, the
 * change signal and the few places where the SQL dialects differ. */
#ifndef MT_STORE_BACKEND_H
#define MT_STORE_BACKEND_H

#include "internal.h"

/* What a step reports besides an error code of the backend's own. */
enum { MT_ROW = 100, MT_DONE = 101 };

/* A prepared statement; each backend's own type begins with this. */
typedef struct mt_stmt {
    mt_store *store;
    const struct mt_backend *ops;
} mt_stmt;

typedef struct mt_backend {
    const char *name;
    /* Opens store->conn for store->location (checks and migrates the schema). */
    mt_status (*connect)(mt_store *store);
    void (*disconnect)(mt_store *store);
    /* A status for the backend's error code rc, naming what failed. */
    mt_status (*error)(mt_store *store, int rc, const char *what);
    mt_status (*prepare)(mt_store *store, const char *sql, mt_stmt **out);
    void (*finalize)(mt_stmt *stmt);
    void (*reset)(mt_stmt *stmt); /* and clears the bindings */
    int (*step)(mt_stmt *stmt);   /* MT_ROW, MT_DONE or an error code */
    int (*param_count)(mt_stmt *stmt);
    void (*bind_int64)(mt_stmt *stmt, int idx, int64_t value);
    void (*bind_text)(mt_stmt *stmt, int idx, const char *text);
    void (*bind_blob)(mt_stmt *stmt, int idx, const void *data, size_t len);
    void (*bind_null)(mt_stmt *stmt, int idx);
    int64_t (*col_int64)(mt_stmt *stmt, int col);
    const char *(*col_text)(mt_stmt *stmt, int col);
    const void *(*col_blob)(mt_stmt *stmt, int col);
    size_t (*col_bytes)(mt_stmt *stmt, int col);
    bool (*col_is_null)(mt_stmt *stmt, int col);
    /* The result's shape, for copying rows whatever their table. */
    int (*col_count)(mt_stmt *stmt);
    const char *(*col_name)(mt_stmt *stmt, int col);
    bool (*col_is_blob)(mt_stmt *stmt, int col); /* a BLOB/bytea value or column */
    /* an integer value or column; times are integers (Unix seconds) whatever
     * the column's type on the server */
    bool (*col_is_integer)(mt_stmt *stmt, int col);
    mt_status (*exec)(mt_store *store, const char *sql);
    int64_t (*last_id)(mt_store *store);      /* id of the row the last INSERT made */
    int64_t (*changes)(mt_store *store);      /* rows the last statement changed */
    int64_t (*total_changes)(mt_store *store);
    /* A write transaction.  writer: one at a time in the whole store, as
     * SQLite's BEGIN IMMEDIATE is, so that what a writer reads stays true
     * until it commits; else a transaction that only updates rows it names
     * (the PIN counters), serialised on those rows.  A store with a primary
     * (store_primary) runs it, and everything in it, there. */
    mt_status (*begin)(mt_store *store, bool writer);
    /* Rolls back the transaction (level 0) or to savepoint mt<level>, keeping
     * the error message of the failure that caused it. */
    void (*rollback)(mt_store *store, int level);
    /* Whether another connection may have committed since the last call
     * (SQLite: PRAGMA data_version; a server: when 100 ms have passed since
     * it last said so, or this process committed). */
    mt_status (*maybe_changed)(mt_store *store, bool *changed);
    /* Schema version (0: no mailtoken schema yet), and whether the database
     * holds tables of something else. */
    mt_status (*schema_version)(mt_store *store, int *version);
    mt_status (*set_schema_version)(mt_store *store, int version);
    mt_status (*has_tables)(mt_store *store, bool *any);
    /* Runs a migration written in SQLite's dialect (translated as needed). */
    mt_status (*migrate)(mt_store *store, const char *sql);
    /* Folds a write-ahead log into the store (NULL: nothing to fold). */
    void (*checkpoint)(mt_store *store);
    /* Whether this user may write (for a read-only store's counter connection;
     * with a primary, whether the primary accepts this user's writes). */
    mt_status (*check_writable)(mt_store *store);
} mt_backend;

extern const mt_backend mt_backend_sqlite;
extern const mt_backend mt_backend_pg;

/* Per-dialect SQL: the SQLite text or the PostgreSQL text of one statement. */
#define MT_SQL(store, sqlite_sql, pg_sql) ((store)->ops == &mt_backend_pg ? (pg_sql) : (sqlite_sql))

/* Statement helpers of the table files, dispatched to the store's backend. */
#define MT_STMT_OPS(stmt) ((stmt)->ops)
static inline void mt_bind_int64(mt_stmt *s, int i, int64_t v) { MT_STMT_OPS(s)->bind_int64(s, i, v); }
static inline void mt_bind_int(mt_stmt *s, int i, int v) { MT_STMT_OPS(s)->bind_int64(s, i, v); }
static inline void mt_bind_text(mt_stmt *s, int i, const char *t) { MT_STMT_OPS(s)->bind_text(s, i, t); }
static inline void mt_bind_blob(mt_stmt *s, int i, const void *d, size_t n) { MT_STMT_OPS(s)->bind_blob(s, i, d, n); }
static inline void mt_bind_null(mt_stmt *s, int i) { MT_STMT_OPS(s)->bind_null(s, i); }
static inline int mt_bind_count(mt_stmt *s) { return MT_STMT_OPS(s)->param_count(s); }
static inline int mt_step(mt_stmt *s) { return MT_STMT_OPS(s)->step(s); }
static inline void mt_stmt_reset(mt_stmt *s) { MT_STMT_OPS(s)->reset(s); }
static inline int64_t mt_col_int64(mt_stmt *s, int c) { return MT_STMT_OPS(s)->col_int64(s, c); }
static inline int mt_col_int(mt_stmt *s, int c) { return (int)MT_STMT_OPS(s)->col_int64(s, c); }
static inline const char *mt_col_peek_text(mt_stmt *s, int c) { return MT_STMT_OPS(s)->col_text(s, c); }
static inline const void *mt_col_peek_blob(mt_stmt *s, int c) { return MT_STMT_OPS(s)->col_blob(s, c); }
static inline int mt_col_bytes(mt_stmt *s, int c) { return (int)MT_STMT_OPS(s)->col_bytes(s, c); }
static inline bool mt_col_is_null(mt_stmt *s, int c) { return MT_STMT_OPS(s)->col_is_null(s, c); }

#endif
