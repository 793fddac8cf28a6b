/* Opening the store: file creation, permissions, pragmas, schema; transactions,
 * the statement cache and the generation counter. */
#include "auth.h"
#include "db.h"
#include "known_keys.h"
#include "seal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

mt_status mt_db_error(mt_store *store, int rc, const char *what)
{
    const char *detail = store && store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
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

mt_status mt_db_stmt(mt_store *store, const char *sql, sqlite3_stmt **out)
{
    for (size_t i = 0; i < store->n_stmts; i++) {
        if (store->stmts[i].sql == sql) {
            *out = store->stmts[i].stmt;
            return MT_OK;
        }
    }
    sqlite3_stmt *stmt = NULL;
    unsigned prep = store->n_stmts < MT_STMT_CACHE ? SQLITE_PREPARE_PERSISTENT : 0;
    int rc = sqlite3_prepare_v3(store->db, sql, -1, prep, &stmt, NULL);
    if (rc != SQLITE_OK)
        return mt_db_error(store, rc, "preparing a query");
    if (store->n_stmts == MT_STMT_CACHE) {
        /* cache full (never expected): evict the oldest */
        sqlite3_finalize(store->stmts[0].stmt);
        memmove(&store->stmts[0], &store->stmts[1], sizeof(store->stmts[0]) * (MT_STMT_CACHE - 1));
        store->n_stmts--;
    }
    store->stmts[store->n_stmts].sql = sql;
    store->stmts[store->n_stmts].stmt = stmt;
    store->n_stmts++;
    *out = stmt;
    return MT_OK;
}

void mt_db_done(sqlite3_stmt *stmt)
{
    if (stmt) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
}

mt_status mt_db_step_done(mt_store *store, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return MT_OK;
    return mt_db_error(store, rc, what);
}

mt_status mt_db_step_row(mt_store *store, sqlite3_stmt *stmt, const char *what, bool *found)
{
    int rc = sqlite3_step(stmt);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return MT_OK;
    return mt_db_error(store, rc, what);
}

mt_status mt_db_exec(mt_store *store, const char *sql)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MT_OK : mt_db_error(store, rc, "executing");
}

char *mt_col_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? strdup((const char *)text) : NULL;
}

uint8_t *mt_col_blob(sqlite3_stmt *stmt, int col, size_t *len)
{
    const void *data = sqlite3_column_blob(stmt, col);
    *len = (size_t)sqlite3_column_bytes(stmt, col);
    if (!data || *len == 0) {
        *len = 0;
        return NULL;
    }
    return mt_memdup(data, *len);
}

int mt_bind_text_or_null(sqlite3_stmt *stmt, int idx, const char *text)
{
    return text ? sqlite3_bind_text(stmt, idx, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, idx);
}

mt_status mt_db_writable(mt_store *store)
{
    if (store->flags & MT_OPEN_READONLY)
        return mt_fail(MT_ERR_READONLY, "%s: store opened read-only", store->path);
    return MT_OK;
}

void mt_db_checkpoint(mt_store *store)
{
    if (store->flags & MT_OPEN_READONLY)
        return;
    /* a short wait: a reader still on an old snapshot only delays the truncation */
    sqlite3_busy_timeout(store->db, 250);
    sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(store->db, 5000);
}

/* ------------------------------------------------------------ transactions */

static mt_status bump_generation(mt_store *store)
{
    sqlite3_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, "UPDATE meta SET value = value + 1 WHERE key = 'generation'", &stmt);
    if (st == MT_OK)
        st = mt_db_step_done(store, stmt, "updating the generation");
    mt_db_done(stmt);
    store->generation_valid = false;
    return st;
}

mt_status mt_tx_begin(mt_store *store)
{
    mt_status st = mt_db_writable(store);
    if (st != MT_OK)
        return st;
    char sql[48];
    if (store->tx_depth == 0)
        snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
    else
        snprintf(sql, sizeof(sql), "SAVEPOINT mt%d", store->tx_depth);
    if ((st = mt_db_exec(store, sql)) != MT_OK)
        return st;
    if (store->tx_depth == 0)
        store->changes_at_begin = sqlite3_total_changes64(store->db);
    store->tx_depth++;
    return MT_OK;
}

/* Ends the innermost level: commits when status is MT_OK, else rolls back.
 * The outermost commit bumps the generation when the transaction wrote a row:
 * one that changed nothing must not make every reader rebuild its view.  The
 * error message of a failure is kept. */
mt_status mt_tx_end(mt_store *store, mt_status status)
{
    char sql[64];
    if (store->tx_depth <= 0)
        return status != MT_OK ? status : mt_fail(MT_ERR_INTERNAL, "no transaction open");
    int level = --store->tx_depth;
    if (status == MT_OK) {
        mt_status st = MT_OK;
        if (level == 0 && sqlite3_total_changes64(store->db) != store->changes_at_begin)
            st = bump_generation(store);
        if (st == MT_OK) {
            if (level == 0)
                snprintf(sql, sizeof(sql), "COMMIT");
            else
                snprintf(sql, sizeof(sql), "RELEASE mt%d", level);
            st = mt_db_exec(store, sql);
        }
        if (st == MT_OK) {
            if (level == 0)
                mt_tx_finished(store, true);
            return MT_OK;
        }
        status = st;
    }
    if (level == 0) {
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        mt_tx_finished(store, false);
    } else {
        snprintf(sql, sizeof(sql), "ROLLBACK TO mt%d; RELEASE mt%d", level, level);
        sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    }
    store->generation_valid = false;
    return status;
}

mt_status mt_store_begin(mt_store *store)
{
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is NULL");
    return mt_tx_begin(store);
}

mt_status mt_store_commit(mt_store *store)
{
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is NULL");
    return mt_tx_end(store, MT_OK);
}

mt_status mt_store_rollback(mt_store *store)
{
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is NULL");
    if (store->tx_depth <= 0)
        return mt_fail(MT_ERR_INVALID, "no transaction open");
    mt_tx_end(store, MT_ERR_INTERNAL);
    mt_clear_error();
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

mt_status mt_make_parent_dir(const char *path)
{
    char *copy = strdup(path);
    mt_status st = MT_OK;
    if (!copy)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            st = mt_fail(MT_ERR_IO, "%s: cannot create directory: %s", copy, strerror(errno));
            break;
        }
        *p = '/';
    }
    free(copy);
    return st;
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

void mt_store_warn(mt_store *store, const char *fmt, ...)
{
    char *line = NULL, *joined = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return; /* a warning lost to a full memory: nothing else changes */
    if (!store->warning) {
        store->warning = line;
        return;
    }
    if (asprintf(&joined, "%s\n%s", store->warning, line) >= 0) {
        free(store->warning);
        store->warning = joined;
    }
    free(line);
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

static mt_status connect(mt_store *store, bool immutable)
{
    int oflags = SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
    oflags |= (store->flags & MT_OPEN_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    char *uri = build_uri(store->path, immutable);
    if (!uri)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(uri, &store->db, oflags, NULL);
    free(uri);
    if (rc != SQLITE_OK)
        return mt_db_error(store, rc, "opening");
    sqlite3_extended_result_codes(store->db, 1);
    sqlite3_busy_timeout(store->db, 5000);
    mt_status st = mt_db_exec(store, "PRAGMA foreign_keys = ON");
    if (st == MT_OK) /* before WAL mode is written into a file that may be no store */
        st = mt_schema_check(store);
    /* freed cells are zeroed: a replaced PIN wrapping does not linger in free
     * pages (set here, not left to the SQLite build's default) */
    if (st == MT_OK)
        st = mt_db_exec(store, "PRAGMA secure_delete = ON");
    if (st == MT_OK && !(store->flags & MT_OPEN_READONLY)) {
        st = mt_db_exec(store, "PRAGMA journal_mode = WAL");
        if (st == MT_OK)
            st = mt_db_exec(store, "PRAGMA synchronous = NORMAL");
    }
    if (st == MT_OK)
        st = mt_schema_migrate(store);
    if (st == MT_OK && (store->flags & MT_DB_COUNTER) && sqlite3_db_readonly(store->db, "main") == 1)
        st = mt_fail(MT_ERR_READONLY, "%s: not writable by this user", store->path);
    store->immutable = immutable;
    if (immutable)
        store->file_stamp = file_stamp(store->path);
    return st;
}

static void disconnect(mt_store *store)
{
    for (size_t i = 0; i < store->n_stmts; i++)
        sqlite3_finalize(store->stmts[i].stmt);
    store->n_stmts = 0;
    sqlite3_close(store->db);
    store->db = NULL;
    store->generation_valid = false;
}

/* Read-only: when the -wal/-shm files neither exist nor can be created (a
 * read-only directory), SQLite refuses a WAL database; then the file alone is
 * the whole store (no writer has a WAL open), read it immutable and reconnect
 * as soon as the file changes or a -wal appears (see mt_store_generation). */
static mt_status connect_with_fallback(mt_store *store)
{
    mt_status st = connect(store, false);
    if (st == MT_OK || !(store->flags & MT_OPEN_READONLY))
        return st;
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", store->path);
    if (access(wal, F_OK) == 0)
        return st;
    disconnect(store);
    return connect(store, true);
}

static mt_status copy_config(mt_store *store, const mt_config *config)
{
    mt_config *defaults = NULL;
    mt_status st = MT_OK;
    if (!config) {
        if ((st = mt_config_defaults(&defaults)) != MT_OK)
            return st;
        config = defaults;
    }
    store->config = *config;
    store->config.source_path = NULL;
    store->config.store_path = NULL;
    store->config.store_key_file = NULL;
    store->config.known_keys_file = NULL;
    store->config.recovery_key_file = NULL;
    store->config.ca_bundle = NULL;
    store->config.api_listen = NULL;
    store->config.api_tls_cert = NULL;
    store->config.api_tls_key = NULL;
    store->config.api_plain_listen = NULL;
    store->config.debug = NULL;
    memset(&store->config.filter, 0, sizeof(store->config.filter));
    st = mt_kdf_config_check(config, config->source_path ? config->source_path : "config");
    if (st == MT_OK && config->recovery_key_file && !(store->recovery_key_file = strdup(config->recovery_key_file)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK && config->store_key_file)
        st = mt_seal_read_key_file(config->store_key_file, &store->store_key);
    if (st == MT_OK && store->store_key)
        st = mt_auth_mac_key(store->store_key, &store->mac_key);
    if (st == MT_OK)
        st = mt_known_keys_path(config, &store->known_keys_path);
    mt_config_free(defaults);
    return st;
}

mt_status mt_store_open(const char *path, const mt_config *config, unsigned flags, mt_store **out)
{
    mt_store *store = NULL;
    mt_status st = mt_library_init();
    if (st != MT_OK)
        return st;
    if (!path || !*path || !out)
        return mt_fail(MT_ERR_INVALID, "store path is required");
    *out = NULL;
    if (!(store = calloc(1, sizeof(*store))))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    store->flags = flags;
    if (!(store->path = strdup(path)) || !(store->actor = strdup("unknown"))) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = copy_config(store, config)) != MT_OK)
        goto out;
    if ((st = prepare_file(path, flags)) != MT_OK)
        goto out;
    if ((st = check_permissions(store)) != MT_OK)
        goto out;
    if ((st = connect_with_fallback(store)) == MT_OK && store->mac_key)
        mt_auth_warn_untagged(store);
out:
    if (st != MT_OK) {
        mt_store_close(store);
        return st;
    }
    *out = store;
    return MT_OK;
}

mt_status mt_db_counter(mt_store *store, mt_store **out)
{
    mt_store *counter = store->counter;
    mt_status st = MT_OK;
    *out = NULL;
    if (!(store->flags & MT_OPEN_READONLY)) {
        if (store->tx_depth > 0)
            return mt_fail(MT_ERR_INTERNAL, "a PIN is checked outside any transaction "
                           "(its attempt is counted in a transaction of its own)");
        *out = store;
        return MT_OK;
    }
    if (!counter && access(store->path, W_OK) != 0)
        return mt_fail(MT_ERR_READONLY, "%s: not writable by this user (%s)", store->path, strerror(errno));
    if (!counter) {
        if (!(counter = calloc(1, sizeof(*counter))))
            return mt_fail(MT_ERR_NOMEM, "out of memory");
        counter->flags = MT_DB_COUNTER;
        counter->config = store->config; /* its strings are NULL: scalars only */
        if (!(counter->path = strdup(store->path)))
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
        else
            st = connect(counter, false);
        if (st != MT_OK) {
            mt_store_close(counter);
            return st;
        }
        store->counter = counter;
    }
    free(counter->actor);
    if (!(counter->actor = strdup(store->actor)))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    *out = counter;
    return MT_OK;
}

void mt_store_close(mt_store *store)
{
    if (!store)
        return;
    while (store->tx_depth > 0)
        mt_tx_end(store, MT_ERR_INTERNAL);
    mt_store_close(store->counter);
    disconnect(store);
    mt_secret_free(store->store_key);
    mt_secret_free(store->mac_key);
    mt_known_keys_free(store->known);
    free(store->known_keys_path);
    mt_secret_free(store->scratch_sk);
    free(store->recovery_key_file);
    free(store->warning);
    free(store->path);
    free(store->actor);
    free(store);
}

const char *mt_store_path(const mt_store *store)
{
    return store ? store->path : NULL;
}

const char *mt_store_warning(const mt_store *store)
{
    return store ? store->warning : NULL;
}

int mt_store_schema_version(mt_store *store)
{
    int version = -1;
    sqlite3_stmt *stmt = NULL;
    if (!store)
        return -1;
    if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

mt_status mt_store_set_actor(mt_store *store, const char *actor)
{
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is NULL");
    mt_status st = mt_check_text("actor", actor, 200, true);
    if (st != MT_OK)
        return st;
    char *copy = strdup(actor);
    if (!copy)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    free(store->actor);
    store->actor = copy;
    return MT_OK;
}

/* ---------------------------------------------------------------- generation */

static mt_status read_data_version(mt_store *store, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "PRAGMA data_version", &stmt);
    if (st == MT_OK)
        st = mt_db_step_row(store, stmt, "reading data_version", &found);
    if (st == MT_OK)
        *out = found ? sqlite3_column_int64(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

/* data_version changes when another connection commits; our own commits clear
 * generation_valid.  Only then is the meta row read again. */
mt_status mt_store_generation(mt_store *store, uint64_t *out)
{
    int64_t version = 0;
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    mt_status st = MT_OK;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    if (store->immutable && file_stamp(store->path) != store->file_stamp) {
        disconnect(store);
        if ((st = connect_with_fallback(store)) != MT_OK)
            return st;
    }
    if ((st = read_data_version(store, &version)) != MT_OK)
        return st;
    if (store->generation_valid && version == store->data_version) {
        *out = store->generation;
        return MT_OK;
    }
    if ((st = mt_db_stmt(store, "SELECT value FROM meta WHERE key = 'generation'", &stmt)) == MT_OK)
        st = mt_db_step_row(store, stmt, "reading the generation", &found);
    if (st == MT_OK) {
        store->generation = found ? (uint64_t)sqlite3_column_int64(stmt, 0) : 0;
        store->data_version = version;
        store->generation_valid = store->tx_depth == 0;
        *out = store->generation;
    }
    mt_db_done(stmt);
    return st;
}
