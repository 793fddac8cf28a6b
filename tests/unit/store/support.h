/* Shared fixtures for the store unit tests: temp stores, test data, row counts. */
#ifndef MT_TEST_STORE_SUPPORT_H
#define MT_TEST_STORE_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mailtoken/store.h"

#define SO_PIN "so-secret-pin"
#define USER_PIN "user-pin-1234"

typedef struct test_env {
    char dir[256];
    char path[400];           /* the store: a file, or a server URI (MT_TEST_PG) */
    char schema[64];          /* on a server: the store's own schema, else "" */
    mt_config *config;
    mt_store *store;
    int64_t org_id;
} test_env;

/* Whether the store tests run against a PostgreSQL server ($MT_TEST_PG, set
 * by tests/pg/with-postgres.sh) rather than SQLite files. */
bool test_on_server(void);
/* Fresh directory, store created with fast Argon2id limits, one organisation "acme". */
int test_env_setup(void **state);
int test_env_teardown(void **state);
/* Fresh temp dir only (no store). */
void test_make_dir(char *dir, size_t len);
void test_remove_dir(const char *dir);

mt_secret *test_secret(const char *text);
/* $MT_TESTDATA/rel, or the test is skipped when MT_TESTDATA is unset. */
const char *test_data_path(const char *rel);
/* Parses $MT_TESTDATA/users/NAME.p12 with its password (first entry). */
mt_parsed *test_parse_user(const char *name);
/* Parses the public $MT_TESTDATA/users/NAME.crt. */
mt_parsed *test_parse_user_pem(const char *name);
/* Imports NAME.p12 (or NAME.crt when pem) and returns the certificate id. */
int64_t test_import(test_env *env, const char *name, bool pem);
/* Row count of a table, through a separate connection. */
long test_count(const char *location, const char *table);
/* The integer a one-row query returns, through a separate connection. */
int64_t test_query_int(const char *location, const char *sql);
/* Runs SQL on the store behind the API's back (to craft odd states). */
void test_sql(const char *location, const char *sql);
/* A blob literal of hex digits in the store's dialect: x'HEX' for SQLite,
 * '\xHEX'::bytea on a server (thread-local buffer, valid to the next call). */
const char *test_sql_blob(const char *location, const char *hex);
/* The store gone, its handle closed: the file removed, or on a server its
 * schema emptied; env->path then names where a new one is created. */
void test_store_remove(test_env *env);
/* A config with fast KDF limits and no wait after a wrong SO PIN (caller frees). */
mt_config *test_fast_config(void);
/* How many of the organisation's events have exactly this action. */
size_t test_count_events(test_env *env, const char *action);
/* What the store holds at rest, for scans for secrets in clear: SQLite's
 * file with its -wal and -shm, or on a server pg_dump of the store's schema
 * (malloc'd, *len its size). */
uint8_t *test_store_raw(const test_env *env, size_t *len);
/* Whether RAW holds NEEDLE as it is or in lowercase hex (pg_dump's bytea). */
bool test_raw_holds(const uint8_t *raw, size_t raw_len, const uint8_t *needle, size_t needle_len);
/* Reads a whole file (malloc'd). */
uint8_t *test_read_file(const char *path, size_t *len);

#endif
