/* Shared fixtures for the store unit tests. */
#include "support.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

void test_make_dir(char *dir, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, len, "%s/mt-store-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void test_remove_dir(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

mt_config *test_fast_config(void)
{
    mt_config *config = NULL;
    assert_int_equal(mt_config_defaults(&config), MT_OK);
    /* test stores: the cheapest Argon2id (tests/data/fast-kdf.conf says why) */
    config->allow_weak_kdf = true;
    config->kdf_opslimit = config->so_kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    config->kdf_memlimit = config->so_kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    config->so_pin_max_delay = 0; /* wrong SO PINs do not slow the tests (test_org checks the wait) */
    return config;
}

bool test_on_server(void)
{
    const char *server = getenv("MT_TEST_PG");
    return server && *server;
}

/* A schema of its own in the test server's database, named after the test's
 * process and a counter: the store location is the server URI searching it. */
static void make_server_store(test_env *env)
{
    static unsigned serial;
    const char *server = getenv("MT_TEST_PG");
    snprintf(env->schema, sizeof(env->schema), "t%ld_%u", (long)getpid(), ++serial);
    snprintf(env->path, sizeof(env->path), "%s%soptions=-csearch_path%%3D%s", server,
             strchr(server, '?') ? "&" : "?", env->schema);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", env->schema);
    test_sql(server, sql);
}

int test_env_setup(void **state)
{
    test_env *env = calloc(1, sizeof(*env));
    mt_secret *so = test_secret(SO_PIN);
    test_make_dir(env->dir, sizeof(env->dir));
    if (test_on_server())
        make_server_store(env);
    else
        snprintf(env->path, sizeof(env->path), "%s/store.db", env->dir);
    setenv("XDG_DATA_HOME", env->dir, 1); /* the record of known keys stays in the test's directory */
    env->config = test_fast_config();
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_CREATE, &env->store), MT_OK);
    assert_int_equal(mt_store_set_actor(env->store, "test"), MT_OK);
    assert_int_equal(mt_store_org_create(env->store, "acme", so, &env->org_id), MT_OK);
    mt_secret_free(so);
    *state = env;
    return 0;
}

int test_env_teardown(void **state)
{
    test_env *env = *state;
    mt_store_close(env->store);
    mt_config_free(env->config);
    test_remove_dir(env->dir);
    if (env->schema[0]) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", env->schema);
        test_sql(getenv("MT_TEST_PG"), sql);
    }
    free(env);
    return 0;
}

mt_secret *test_secret(const char *text)
{
    mt_secret *secret = NULL;
    assert_int_equal(mt_secret_from(text, strlen(text), &secret), MT_OK);
    return secret;
}

const char *test_data_path(const char *rel)
{
    static _Thread_local char path[1024];
    const char *dir = getenv("MT_TESTDATA");
    if (!dir || !*dir) {
        fprintf(stderr, "MT_TESTDATA is not set\n");
        fail();
    }
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return path;
}

static mt_parsed *parse(const char *rel, const char *pass_rel)
{
    mt_secret *password = NULL;
    mt_parsed *parsed = NULL;
    if (pass_rel && access(test_data_path(pass_rel), F_OK) == 0)
        assert_int_equal(mt_secret_from_file(test_data_path(pass_rel), &password), MT_OK);
    mt_status st = mt_cert_parse_file(test_data_path(rel), password, &parsed);
    if (st != MT_OK)
        fprintf(stderr, "parse %s: %s\n", rel, mt_errmsg());
    assert_int_equal(st, MT_OK);
    assert_true(parsed->n_entries >= 1);
    mt_secret_free(password);
    return parsed;
}

mt_parsed *test_parse_user(const char *name)
{
    char rel[256], pass[256];
    snprintf(rel, sizeof(rel), "users/%s.p12", name);
    snprintf(pass, sizeof(pass), "users/%s.pass", name);
    return parse(rel, pass);
}

mt_parsed *test_parse_user_pem(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "users/%s.crt", name);
    return parse(rel, NULL);
}

int64_t test_import(test_env *env, const char *name, bool pem)
{
    mt_parsed *parsed = pem ? test_parse_user_pem(name) : test_parse_user(name);
    int64_t id = 0;
    bool created = false;
    mt_status st = mt_store_cert_import(env->store, env->org_id, &parsed->entries[0], NULL, NULL, &id, &created);
    if (st != MT_OK)
        fprintf(stderr, "import %s: %s\n", name, mt_errmsg());
    assert_int_equal(st, MT_OK);
    mt_parsed_free(parsed);
    return id;
}

static PGconn *server_connect(const char *location)
{
    PGconn *pg = PQconnectdb(location);
    if (PQstatus(pg) != CONNECTION_OK)
        fprintf(stderr, "%s: %s\n", location, PQerrorMessage(pg));
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    return pg;
}

void test_sql(const char *location, const char *sql)
{
    if (mt_store_location_is_server(location)) {
        PGconn *pg = server_connect(location);
        PGresult *res = PQexec(pg, sql);
        ExecStatusType status = PQresultStatus(res);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(res));
        PQclear(res);
        PQfinish(pg);
        assert_true(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
        return;
    }
    sqlite3 *db = NULL;
    char *error = NULL;
    assert_int_equal(sqlite3_open_v2(location, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, &error);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, error);
    sqlite3_free(error);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t server_epoch(PGconn *pg, const char *timestamptz)
{
    const char *values[1] = {timestamptz};
    PGresult *res = PQexecParams(pg, "SELECT extract(epoch FROM $1::timestamptz)::bigint", 1, NULL,
                                 values, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    int64_t n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

const char *test_sql_blob(const char *location, const char *hex)
{
    static _Thread_local char literal[1024];
    snprintf(literal, sizeof(literal), mt_store_location_is_server(location) ? "'\\x%s'::bytea" : "x'%s'", hex);
    return literal;
}

void test_store_remove(test_env *env)
{
    mt_store_close(env->store);
    env->store = NULL;
    if (!env->schema[0]) {
        unlink(env->path);
        return;
    }
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE; CREATE SCHEMA %s", env->schema, env->schema);
    test_sql(getenv("MT_TEST_PG"), sql);
}

int64_t test_query_int(const char *location, const char *sql)
{
    int64_t n = -1;
    if (mt_store_location_is_server(location)) {
        PGconn *pg = server_connect(location);
        PGresult *res = PQexec(pg, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(res));
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(res), 1);
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (PQftype(res, 0) == 1184) /* a timestamptz: its Unix seconds, as the server counts them */
            n = server_epoch(pg, PQgetvalue(res, 0, 0));
        PQclear(res);
        PQfinish(pg);
        return n;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open_v2(location, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

long test_count(const char *location, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    return (long)test_query_int(location, sql);
}

uint8_t *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(size > 0 ? (size_t)size : 1);
    if (data && size > 0 && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    } else {
        *len = (size_t)(size > 0 ? size : 0);
    }
    fclose(f);
    return data;
}

/* Appends everything F gives to *buf. */
static void append_stream(FILE *f, uint8_t **buf, size_t *len)
{
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        uint8_t *grown = realloc(*buf, *len + n);
        assert_non_null(grown);
        memcpy(grown + *len, chunk, n);
        *buf = grown;
        *len += n;
    }
}

uint8_t *test_store_raw(const test_env *env, size_t *len)
{
    uint8_t *raw = NULL;
    *len = 0;
    if (env->schema[0]) {
        char cmd[1024];
        const char *bin = getenv("MT_TEST_PG_BIN");
        assert_non_null(bin);
        snprintf(cmd, sizeof(cmd), "'%s/pg_dump' -n %s '%s'", bin, env->schema, getenv("MT_TEST_PG"));
        FILE *dump = popen(cmd, "r");
        assert_non_null(dump);
        append_stream(dump, &raw, len);
        assert_int_equal(pclose(dump), 0);
        assert_true(*len > 0);
        return raw;
    }
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char path[sizeof(env->path) + 8];
        snprintf(path, sizeof(path), "%s%s", env->path, suffixes[i]);
        FILE *f = fopen(path, "rb");
        assert_true(f || i > 0); /* the store file itself must be there */
        if (f) {
            append_stream(f, &raw, len);
            fclose(f);
        }
    }
    return raw;
}

static bool holds(const uint8_t *hay, size_t hay_len, const void *needle, size_t needle_len)
{
    for (size_t i = 0; needle_len > 0 && i + needle_len <= hay_len; i++)
        if (!memcmp(hay + i, needle, needle_len))
            return true;
    return false;
}

bool test_raw_holds(const uint8_t *raw, size_t raw_len, const uint8_t *needle, size_t needle_len)
{
    char *hex = malloc(needle_len * 2 + 1);
    assert_non_null(hex);
    sodium_bin2hex(hex, needle_len * 2 + 1, needle, needle_len);
    bool found = holds(raw, raw_len, needle, needle_len) || holds(raw, raw_len, hex, needle_len * 2);
    free(hex);
    return found;
}

size_t test_count_events(test_env *env, const char *action)
{
    mt_event *events = NULL;
    size_t n = 0, found = 0;
    mt_event_query q = {.org_id = env->org_id, .action = action};
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    for (size_t i = 0; i < n; i++)
        found += strcmp(events[i].action, action) == 0;
    mt_event_list_free(events, n);
    return found;
}
