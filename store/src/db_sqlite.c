/* The SQLite backend: a store in one file, created 0600, in WAL mode; a
 * read-only store in a directory where no -wal/-shm can be made is read
 * immutable and reopened when the file changes. */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

typedef struct lite_stmt {
    mt_stmt base;
    sqlite3_stmt *stmt;
} lite_stmt;

#define DB(store) ((sqlite3 *)(store)->conn)
#define LITE(s) (((lite_stmt *)(s))->stmt)

static mt_status lite_error(mt_store *store, int rc, const char *what)
{
    const char *detail = store && store->conn ? sqlite3_errmsg(DB(store)) : sqlite3_errstr(rc);
    const char *path = store && store->path ? store->path : "store";
    mt_status st;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: st = MT_ERR_BUSY; break;
    case SQLITE_READONLY: st = MT_ERR_READONLY; break;
    case SQLITE_NOMEM: st = MT_ERR_NOMEM; break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PERM: st = MT_ERR_IO; break;
    case SQLITE_CONSTRAINT: st = MT_ERR_CONFLICT; break;
    default: st = MT_ERR_DB; break;
    }
    return mt_fail(st, "%s: %s: %s", path, what, detail);
}

static mt_status lite_prepare(mt_store *store, const char *sql, mt_stmt **out)
{
    lite_stmt *s = calloc(1, sizeof(*s));
    if (!s)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    int rc = sqlite3_prepare_v3(DB(store), sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
    if (rc != SQLITE_OK) {
        free(s);
        return lite_error(store, rc, "preparing a query");
    }
    s->base.store = store;
    s->base.ops = &mt_backend_sqlite;
    *out = &s->base;
    return MT_OK;
}

static void lite_finalize(mt_stmt *s)
{
    if (s) {
        sqlite3_finalize(LITE(s));
        free(s);
    }
}

static void lite_reset(mt_stmt *s)
{
    sqlite3_reset(LITE(s));
    sqlite3_clear_bindings(LITE(s));
}

static int lite_step(mt_stmt *s)
{
    int rc = sqlite3_step(LITE(s));
    return rc == SQLITE_ROW ? MT_ROW : rc == SQLITE_DONE ? MT_DONE : rc;
}

static int lite_param_count(mt_stmt *s) { return sqlite3_bind_parameter_count(LITE(s)); }
static void lite_bind_int64(mt_stmt *s, int i, int64_t v) { sqlite3_bind_int64(LITE(s), i, v); }
static void lite_bind_null(mt_stmt *s, int i) { sqlite3_bind_null(LITE(s), i); }

static void lite_bind_text(mt_stmt *s, int i, const char *text)
{
    sqlite3_bind_text(LITE(s), i, text, -1, SQLITE_TRANSIENT);
}

/* sqlite3_bind_blob, not _blob64, and sqlite3_changes, not _changes64: the
 * module runs inside programs that bring a SQLite of their own (Thunderbird's
 * libmozsqlite3), whose symbols the module's calls then reach; it exports the
 * classic API only, and a call that reached the system's library instead
 * would act on a connection that library never made. */
static void lite_bind_blob(mt_stmt *s, int i, const void *data, size_t len)
{
    if (len > INT_MAX)
        sqlite3_bind_null(LITE(s), i); /* never a store value: the insert then fails NOT NULL */
    else
        sqlite3_bind_blob(LITE(s), i, data, (int)len, SQLITE_TRANSIENT);
}

static int64_t lite_col_int64(mt_stmt *s, int c) { return sqlite3_column_int64(LITE(s), c); }
static const char *lite_col_text(mt_stmt *s, int c) { return (const char *)sqlite3_column_text(LITE(s), c); }
static const void *lite_col_blob(mt_stmt *s, int c) { return sqlite3_column_blob(LITE(s), c); }
static size_t lite_col_bytes(mt_stmt *s, int c) { return (size_t)sqlite3_column_bytes(LITE(s), c); }
static bool lite_col_is_null(mt_stmt *s, int c) { return sqlite3_column_type(LITE(s), c) == SQLITE_NULL; }
static int lite_col_count(mt_stmt *s) { return sqlite3_column_count(LITE(s)); }
static const char *lite_col_name(mt_stmt *s, int c) { return sqlite3_column_name(LITE(s), c); }
static bool lite_col_is_blob(mt_stmt *s, int c) { return sqlite3_column_type(LITE(s), c) == SQLITE_BLOB; }
static bool lite_col_is_integer(mt_stmt *s, int c) { return sqlite3_column_type(LITE(s), c) == SQLITE_INTEGER; }

static mt_status lite_exec(mt_store *store, const char *sql)
{
    int rc = sqlite3_exec(DB(store), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MT_OK : lite_error(store, rc, "executing");
}

static int64_t lite_last_id(mt_store *store) { return sqlite3_last_insert_rowid(DB(store)); }
static int64_t lite_changes(mt_store *store) { return sqlite3_changes(DB(store)); }
static int64_t lite_total_changes(mt_store *store) { return sqlite3_total_changes64(DB(store)); }

static mt_status lite_begin(mt_store *store, bool writer)
{
    (void)writer; /* SQLite has one writer at a time either way */
    return lite_exec(store, "BEGIN IMMEDIATE");
}

static void lite_rollback(mt_store *store, int level)
{
    char sql[64];
    if (level == 0)
        snprintf(sql, sizeof(sql), "ROLLBACK");
    else
        snprintf(sql, sizeof(sql), "ROLLBACK TO mt%d; RELEASE mt%d", level, level);
    sqlite3_exec(DB(store), sql, NULL, NULL, NULL);
}

/* One-off query of a single integer (pragmas, counts). */
static mt_status query_int(mt_store *store, const char *sql, const char *what, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(DB(store), sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_OK ? MT_OK : lite_error(store, rc, what);
}

static int64_t file_stamp(const char *path);
static mt_status connect_with_fallback(mt_store *store);

/* data_version changes when another connection commits; an immutable read
 * of a file that changed since is opened again. */
static mt_status lite_maybe_changed(mt_store *store, bool *changed)
{
    int64_t version = 0;
    mt_status st = MT_OK;
    if (store->immutable && file_stamp(store->path) != store->file_stamp) {
        mt_db_disconnect(store);
        if ((st = connect_with_fallback(store)) != MT_OK)
            return st;
    }
    st = query_int(store, "PRAGMA data_version", "reading data_version", &version);
    if (st == MT_OK) {
        *changed = version != store->data_version;
        store->data_version = version;
    }
    return st;
}

static mt_status lite_schema_version(mt_store *store, int *version)
{
    int64_t v = 0;
    mt_status st = query_int(store, "PRAGMA user_version", "reading the schema version", &v);
    *version = (int)v;
    return st;
}

static mt_status lite_set_schema_version(mt_store *store, int version)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
    return lite_exec(store, sql);
}

static mt_status lite_has_tables(mt_store *store, bool *any)
{
    int64_t n = 0;
    mt_status st = query_int(store, "SELECT count(*) FROM sqlite_master", "reading the schema", &n);
    *any = n > 0;
    return st;
}

static void lite_checkpoint(mt_store *store)
{
    /* a short wait: a reader still on an old snapshot only delays the truncation */
    sqlite3_busy_timeout(DB(store), 250);
    sqlite3_wal_checkpoint_v2(DB(store), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(DB(store), 5000);
}

static mt_status lite_check_writable(mt_store *store)
{
    if (sqlite3_db_readonly(DB(store), "main") == 1)
        return mt_fail(MT_ERR_READONLY, "%s: not writable by this user", store->path);
    return MT_OK;
}

/* ----------------------------------------------------------------- opening */

static int64_t file_stamp(const char *path)
{
    struct stat sb;
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(path, &sb) != 0)
        return -1;
    int64_t stamp = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec + (int64_t)sb.st_size;
    if (access(wal, F_OK) == 0)
        stamp ^= 1; /* a writer appeared */
    return stamp;
}

/* A zero-byte file with no write-ahead log beside it holds no store (SQLite
 * writes the first page as soon as it makes a database). */
static bool empty_file(const char *path, const struct stat *sb)
{
    struct stat wal_sb;
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    return sb->st_size == 0 && (stat(wal, &wal_sb) != 0 || wal_sb.st_size == 0);
}

/* Creates the file 0600 before SQLite does, so it never exists with looser
 * rights.  Only MT_OPEN_CREATE turns an empty file into a store: a command
 * that fails must leave whatever it found as it was. */
static mt_status prepare_file(const char *path, unsigned flags)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            return mt_fail(MT_ERR_IO, "%s: not a regular file", path);
        if (!(flags & MT_OPEN_CREATE) && empty_file(path, &sb))
            return mt_fail(MT_ERR_INVALID, "%s: not a mailtoken store (empty file)", path);
        return MT_OK;
    }
    if (errno != ENOENT)
        return mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
    if (!(flags & MT_OPEN_CREATE) || (flags & MT_OPEN_READONLY))
        return mt_fail(MT_ERR_NOT_FOUND, "%s: no store here (create one first)", path);
    mt_status st = mt_make_parent_dir(path);
    if (st != MT_OK)
        return st;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
        return mt_fail(MT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return MT_OK;
}

static mt_status check_permissions(mt_store *store)
{
    struct stat sb;
    if (stat(store->path, &sb) != 0)
        return mt_fail(MT_ERR_IO, "%s: %s", store->path, strerror(errno));
    if ((sb.st_mode & 0077) == 0)
        return MT_OK;
    if (store->config.strict)
        return mt_fail(MT_ERR_IO, "%s: readable by others (mode %03o) and the config says strict; "
                       "run chmod 600 on it", store->path, (unsigned)(sb.st_mode & 0777));
    /* Kept for the caller to show where it belongs (the tool's stderr, the
     * module's trace): a store shared with its users' mail clients is a
     * documented set-up, not a mistake to shout about in a client's console. */
    mt_store_warn(store,
                  "%s is readable by others (mode %03o): whoever can read it can copy it and "
                  "guess its PINs offline; fine for a store shared with its users' mail clients, "
                  "else run chmod 600 on it",
                  store->path, (unsigned)(sb.st_mode & 0777));
    return MT_OK;
}

/* file: URI of the path, with the characters a URI would misread escaped. */
static char *build_uri(const char *path, bool immutable)
{
    char *uri = malloc(strlen(path) * 3 + 32);
    if (!uri)
        return NULL;
    char *w = uri + sprintf(uri, "file:");
    for (const char *r = path; *r; r++)
        w += strchr("?#%", *r) ? sprintf(w, "%%%02X", (unsigned char)*r) : sprintf(w, "%c", *r);
    strcpy(w, immutable ? "?immutable=1" : "");
    return uri;
}

static mt_status connect_file(mt_store *store, bool immutable)
{
    sqlite3 *db = NULL;
    int oflags = SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
    oflags |= (store->flags & MT_OPEN_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    char *uri = build_uri(store->path, immutable);
    if (!uri)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(uri, &db, oflags, NULL);
    free(uri);
    store->conn = db;
    if (rc != SQLITE_OK)
        return lite_error(store, rc, "opening");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    mt_status st = lite_exec(store, "PRAGMA foreign_keys = ON");
    if (st == MT_OK) /* before WAL mode is written into a file that may be no store */
        st = mt_schema_check(store);
    /* freed cells are zeroed: a replaced PIN wrapping does not linger in free
     * pages (set here, not left to the SQLite build's default) */
    if (st == MT_OK)
        st = lite_exec(store, "PRAGMA secure_delete = ON");
    if (st == MT_OK && !(store->flags & MT_OPEN_READONLY)) {
        st = lite_exec(store, "PRAGMA journal_mode = WAL");
        if (st == MT_OK)
            st = lite_exec(store, "PRAGMA synchronous = NORMAL");
    }
    store->immutable = immutable;
    if (immutable)
        store->file_stamp = file_stamp(store->path);
    return st;
}

static void lite_disconnect(mt_store *store)
{
    sqlite3_close(DB(store));
    store->conn = NULL;
}

/* Read-only: when the -wal/-shm files neither exist nor can be created (a
 * read-only directory), SQLite refuses a WAL database; then the file alone is
 * the whole store (no writer has a WAL open), read it immutable and reconnect
 * as soon as the file changes or a -wal appears (lite_maybe_changed). */
static mt_status connect_with_fallback(mt_store *store)
{
    mt_status st = connect_file(store, false);
    if (st == MT_OK || !(store->flags & MT_OPEN_READONLY))
        return st;
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", store->path);
    if (access(wal, F_OK) == 0)
        return st;
    lite_disconnect(store);
    return connect_file(store, true);
}

static mt_status lite_connect(mt_store *store)
{
    mt_status st = MT_OK;
    if (!(store->flags & MT_DB_COUNTER)) {
        if ((st = prepare_file(store->path, store->flags)) == MT_OK)
            st = check_permissions(store);
        if (st != MT_OK)
            return st;
    }
    return connect_with_fallback(store);
}

const mt_backend mt_backend_sqlite = {
    .name = "SQLite",
    .connect = lite_connect,
    .disconnect = lite_disconnect,
    .error = lite_error,
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .reset = lite_reset,
    .step = lite_step,
    .param_count = lite_param_count,
    .bind_int64 = lite_bind_int64,
    .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob,
    .bind_null = lite_bind_null,
    .col_int64 = lite_col_int64,
    .col_text = lite_col_text,
    .col_blob = lite_col_blob,
    .col_bytes = lite_col_bytes,
    .col_is_null = lite_col_is_null,
    .col_count = lite_col_count,
    .col_name = lite_col_name,
    .col_is_blob = lite_col_is_blob,
    .col_is_integer = lite_col_is_integer,
    .exec = lite_exec,
    .last_id = lite_last_id,
    .changes = lite_changes,
    .total_changes = lite_total_changes,
    .begin = lite_begin,
    .rollback = lite_rollback,
    .maybe_changed = lite_maybe_changed,
    .schema_version = lite_schema_version,
    .set_schema_version = lite_set_schema_version,
    .has_tables = lite_has_tables,
    .migrate = lite_exec,
    .checkpoint = lite_checkpoint,
    .check_writable = lite_check_writable,
};
