/* Opening the store: file creation, permissions, pragmas, schema; transactions,
 * the statement cache and the generation counter. */
#include "auth.h"
#include "db.h"
#include "known_keys.h"
#include "seal.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

mt_status mt_db_error(mt_store *store, int rc, const char *what)
{
    return store->ops->error(store, rc, what);
}

mt_status mt_db_stmt(mt_store *store, const char *sql, mt_stmt **out)
{
    for (size_t i = 0; i < store->n_stmts; i++) {
        if (store->stmts[i].sql == sql) {
            *out = store->stmts[i].stmt;
            return MT_OK;
        }
    }
    mt_stmt *stmt = NULL;
    mt_status st = store->ops->prepare(store, sql, &stmt);
    if (st != MT_OK)
        return st;
    if (store->n_stmts == MT_STMT_CACHE) {
        /* cache full (never expected): evict the oldest */
        store->ops->finalize(store->stmts[0].stmt);
        memmove(&store->stmts[0], &store->stmts[1], sizeof(store->stmts[0]) * (MT_STMT_CACHE - 1));
        store->n_stmts--;
    }
    store->stmts[store->n_stmts].sql = sql;
    store->stmts[store->n_stmts].stmt = stmt;
    store->n_stmts++;
    *out = stmt;
    return MT_OK;
}

void mt_db_done(mt_stmt *stmt)
{
    if (stmt)
        mt_stmt_reset(stmt);
}

mt_status mt_db_step_done(mt_store *store, mt_stmt *stmt, const char *what)
{
    int rc = mt_step(stmt);
    if (rc == MT_DONE || rc == MT_ROW)
        return MT_OK;
    return mt_db_error(store, rc, what);
}

mt_status mt_db_step_row(mt_store *store, mt_stmt *stmt, const char *what, bool *found)
{
    int rc = mt_step(stmt);
    *found = rc == MT_ROW;
    if (rc == MT_DONE || rc == MT_ROW)
        return MT_OK;
    return mt_db_error(store, rc, what);
}

mt_status mt_db_exec(mt_store *store, const char *sql)
{
    return store->ops->exec(store, sql);
}

int64_t mt_db_last_id(mt_store *store)
{
    return store->ops->last_id(store);
}

int64_t mt_db_changes(mt_store *store)
{
    return store->ops->changes(store);
}

char *mt_col_text(mt_stmt *stmt, int col)
{
    const char *text = mt_col_peek_text(stmt, col);
    return text ? strdup(text) : NULL;
}

uint8_t *mt_col_blob(mt_stmt *stmt, int col, size_t *len)
{
    const void *data = mt_col_peek_blob(stmt, col);
    *len = (size_t)mt_col_bytes(stmt, col);
    if (!data || *len == 0) {
        *len = 0;
        return NULL;
    }
    return mt_memdup(data, *len);
}

void mt_bind_text_or_null(mt_stmt *stmt, int idx, const char *text)
{
    if (text)
        mt_bind_text(stmt, idx, text);
    else
        mt_bind_null(stmt, idx);
}

mt_status mt_db_writable(mt_store *store)
{
    if (store->flags & MT_OPEN_READONLY)
        return mt_fail(MT_ERR_READONLY, "%s: store opened read-only", store->path);
    return MT_OK;
}

void mt_db_checkpoint(mt_store *store)
{
    if (!(store->flags & MT_OPEN_READONLY) && store->ops->checkpoint)
        store->ops->checkpoint(store);
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

/* ------------------------------------------------------------ transactions */

static mt_status bump_generation(mt_store *store)
{
    mt_stmt *stmt = NULL;
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
    snprintf(sql, sizeof(sql), "SAVEPOINT mt%d", store->tx_depth);
    if ((st = store->tx_depth == 0 ? store->ops->begin(store, true) : mt_db_exec(store, sql)) != MT_OK)
        return st;
    if (store->tx_depth == 0)
        store->changes_at_begin = store->ops->total_changes(store);
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
        if (level == 0 && store->ops->total_changes(store) != store->changes_at_begin)
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
    store->ops->rollback(store, level); /* quietly: the caller's failure is the one to report */
    if (level == 0)
        mt_tx_finished(store, false);
    store->generation_valid = false;
    return status;
}

mt_status mt_db_counter_begin(mt_store *store)
{
    return store->ops->begin(store, false);
}

mt_status mt_db_counter_end(mt_store *store, mt_status status)
{
    if (status == MT_OK)
        status = mt_db_exec(store, "COMMIT");
    if (status != MT_OK)
        store->ops->rollback(store, 0);
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

bool mt_store_location_is_server(const char *location)
{
    return location && (strncmp(location, "postgresql://", 13) == 0 ||
                        strncmp(location, "postgres://", 11) == 0);
}

/* The location as messages show it: a URI's password left out. */
static char *display_location(const char *location)
{
    char *shown = strdup(location);
    if (!shown || !mt_store_location_is_server(location))
        return shown;
    char *authority = strstr(shown, "://") + 3;
    char *at = strchr(authority, '@');
    char *slash = strchr(authority, '/');
    char *colon = strchr(authority, ':');
    if (at && (!slash || at < slash) && colon && colon < at)
        memmove(colon, at, strlen(at) + 1);
    return shown;
}

void mt_db_disconnect(mt_store *store)
{
    for (size_t i = 0; i < store->n_stmts; i++)
        store->ops->finalize(store->stmts[i].stmt);
    store->n_stmts = 0;
    if (store->conn)
        store->ops->disconnect(store);
    store->conn = NULL;
    store->generation_valid = false;
}

/* The backend's connection, then the schema: brought up to date unless the
 * store is read-only; a counter connection must be able to write. */
static mt_status connect(mt_store *store)
{
    mt_status st = store->ops->connect(store);
    if (st == MT_OK)
        st = mt_schema_migrate(store);
    if (st == MT_OK && (store->flags & MT_DB_COUNTER))
        st = store->ops->check_writable(store);
    return st;
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
    store->config.store_primary = NULL;
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

/* store_primary ($MAILTOKEN_STORE_PRIMARY wins) belongs to the configured
 * store (`store`, $MAILTOKEN_STORE): another location opened with the same
 * config (`store copy --to`, `--store` elsewhere) never writes to it. */
static mt_status resolve_primary(mt_store *store, const mt_config *config)
{
    const char *env = getenv("MAILTOKEN_STORE_PRIMARY");
    const char *primary = env && *env ? env : config ? config->store_primary : NULL;
    char *configured = NULL;
    if (!primary)
        return MT_OK;
    mt_status st = mt_config_store_path(config, &configured);
    if (st != MT_OK || strcmp(configured, store->location) != 0)
        goto out;
    if (store->ops != &mt_backend_pg || !mt_store_location_is_server(primary))
        st = mt_fail(MT_ERR_INVALID, "%s: store_primary (or $MAILTOKEN_STORE_PRIMARY) is for a store on a "
                     "PostgreSQL standby and must be a postgresql:// URI of its primary", store->path);
    else if (!(store->primary = strdup(primary)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
out:
    free(configured);
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
    store->ops = mt_store_location_is_server(path) ? &mt_backend_pg : &mt_backend_sqlite;
    if (!(store->location = strdup(path)) || !(store->path = display_location(path)) ||
        !(store->actor = strdup("unknown"))) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = copy_config(store, config)) != MT_OK || (st = resolve_primary(store, config)) != MT_OK)
        goto out;
    if ((st = connect(store)) == MT_OK && store->mac_key)
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
    if (!counter && store->ops == &mt_backend_sqlite && access(store->path, W_OK) != 0)
        return mt_fail(MT_ERR_READONLY, "%s: not writable by this user (%s)", store->path, strerror(errno));
    if (!counter) {
        if (!(counter = calloc(1, sizeof(*counter))))
            return mt_fail(MT_ERR_NOMEM, "out of memory");
        counter->flags = MT_DB_COUNTER;
        counter->ops = store->ops;
        counter->config = store->config; /* its strings are NULL: scalars only */
        /* with a primary, the counters and their events go there only */
        const char *location = store->primary ? store->primary : store->location;
        if (!(counter->location = strdup(location)) || !(counter->path = display_location(location)))
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
        else
            st = connect(counter);
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
    if (store->ops)
        mt_db_disconnect(store);
    mt_secret_free(store->store_key);
    mt_secret_free(store->mac_key);
    mt_known_keys_free(store->known);
    free(store->known_keys_path);
    mt_secret_free(store->scratch_sk);
    free(store->recovery_key_file);
    free(store->warning);
    free(store->location);
    free(store->primary);
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
    if (!store || store->ops->schema_version(store, &version) != MT_OK)
        return -1;
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

/* The meta row is read again only when another connection may have
 * committed (backend) or our own commit cleared generation_valid. */
mt_status mt_store_generation(mt_store *store, uint64_t *out)
{
    mt_stmt *stmt = NULL;
    bool found = false, changed = true;
    mt_status st = MT_OK;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    if ((st = store->ops->maybe_changed(store, &changed)) != MT_OK)
        return st;
    if (store->generation_valid && !changed) {
        *out = store->generation;
        return MT_OK;
    }
    if ((st = mt_db_stmt(store, "SELECT value FROM meta WHERE key = 'generation'", &stmt)) == MT_OK)
        st = mt_db_step_row(store, stmt, "reading the generation", &found);
    if (st == MT_OK) {
        store->generation = found ? (uint64_t)mt_col_int64(stmt, 0) : 0;
        store->generation_valid = store->tx_depth == 0;
        *out = store->generation;
    }
    mt_db_done(stmt);
    return st;
}
