/* Opening the store: file mode, permissions, migrations, transactions,
 * generation counter, read-only use while another connection writes. */
#include "support.h"

#include "db.h" /* mt_schema_latest */

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct dir_env {
    char dir[256];
    char path[300];
    mt_config *config;
} dir_env;

static int dir_setup(void **state)
{
    dir_env *env = calloc(1, sizeof(*env));
    test_make_dir(env->dir, sizeof(env->dir));
    snprintf(env->path, sizeof(env->path), "%s/sub/store.db", env->dir);
    env->config = test_fast_config();
    *state = env;
    return 0;
}

static int dir_teardown(void **state)
{
    dir_env *env = *state;
    chmod(env->dir, 0700);
    test_remove_dir(env->dir);
    mt_config_free(env->config);
    free(env);
    return 0;
}

static void create_mode_0600(void **state)
{
    dir_env *env = *state;
    mt_store *store = NULL;
    struct stat sb;
    assert_int_equal(mt_store_open(env->path, env->config, 0, &store), MT_ERR_NOT_FOUND);
    assert_non_null(strstr(mt_errmsg(), env->path));
    mode_t old = umask(0);
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_CREATE, &store), MT_OK);
    umask(old);
    assert_int_equal(stat(env->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", env->path);
    if (stat(wal, &sb) == 0)
        assert_int_equal(sb.st_mode & 0077, 0);
    assert_int_equal(mt_store_schema_version(store), mt_schema_latest());
    assert_string_equal(mt_store_path(store), env->path);
    mt_store_close(store);
}

static void permissions_warning_and_strict(void **state)
{
    dir_env *env = *state;
    mt_store *store = NULL;
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_CREATE, &store), MT_OK);
    mt_store_close(store);
    assert_int_equal(chmod(env->path, 0644), 0);
    assert_int_equal(mt_store_open(env->path, env->config, 0, &store), MT_OK); /* a warning only */
    assert_non_null(mt_store_warning(store)); /* for the caller to show: never printed */
    assert_non_null(strstr(mt_store_warning(store), "readable by others (mode 644)"));
    mt_store_close(store);
    assert_int_equal(chmod(env->path, 0600), 0);
    assert_int_equal(mt_store_open(env->path, env->config, 0, &store), MT_OK);
    assert_null(mt_store_warning(store));
    mt_store_close(store);
    assert_int_equal(chmod(env->path, 0644), 0);
    env->config->strict = true;
    assert_int_equal(mt_store_open(env->path, env->config, 0, &store), MT_ERR_IO);
    assert_non_null(strstr(mt_errmsg(), "readable by others"));
    assert_null(store);
}

static void set_user_version(const char *path, int version, const char *sql)
{
    sqlite3 *db = NULL;
    char pragma[64];
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sql)
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
    assert_int_equal(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void migrations(void **state)
{
    dir_env *env = *state;
    mt_store *store = NULL;
    char path[400];
    /* version 0: an empty SQLite database becomes a store only when creating one */
    snprintf(path, sizeof(path), "%s/v0.db", env->dir);
    set_user_version(path, 0, "CREATE TABLE unrelated (x); DROP TABLE unrelated");
    chmod(path, 0600);
    assert_int_equal(mt_store_open(path, env->config, 0, &store), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "not a mailtoken store (an empty SQLite database)"));
    assert_int_equal(mt_store_open(path, env->config, MT_OPEN_READONLY, &store), MT_ERR_INVALID);
    assert_int_equal(mt_store_open(path, env->config, MT_OPEN_CREATE, &store), MT_OK);
    assert_int_equal(mt_store_schema_version(store), mt_schema_latest());
    mt_store_close(store);
    assert_int_equal(test_count(path, "meta"), 1);
    /* a SQLite database of something else is never made a store */
    snprintf(path, sizeof(path), "%s/other.db", env->dir);
    set_user_version(path, 0, "CREATE TABLE unrelated (x)");
    chmod(path, 0600);
    assert_int_equal(mt_store_open(path, env->config, MT_OPEN_CREATE, &store), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "not a mailtoken store (a SQLite database of something else)"));
    assert_int_equal(test_count(path, "sqlite_master"), 1); /* its own table, nothing added */
    /* a zero-byte file: not a store, and left as it is unless creating */
    snprintf(path, sizeof(path), "%s/empty.db", env->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mt_store_open(path, env->config, 0, &store), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "not a mailtoken store (empty file)"));
    assert_int_equal(mt_store_open(path, env->config, MT_OPEN_READONLY, &store), MT_ERR_INVALID);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    /* a newer schema than this build is refused, untouched */
    snprintf(path, sizeof(path), "%s/v99.db", env->dir);
    set_user_version(path, 99, NULL);
    chmod(path, 0600);
    assert_int_equal(mt_store_open(path, env->config, 0, &store), MT_ERR_DB);
    assert_non_null(strstr(mt_errmsg(), "newer"));
}

/* Version 2 gives the SO PIN its counter and clears the PIN of every token
 * whose account is gone (the next holder of the address must not inherit it). */
static void migration_2(void **state)
{
    test_env *env = *state;
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(USER_PIN);
    int64_t alice = test_import(env, "alice", false);
    test_import(env, "bob", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", alice, &alice, 1),
                     MT_OK);
    mt_token *tokens = NULL;
    size_t n = 0;
    assert_int_equal(mt_store_token_list(env->store, &tokens, &n), MT_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(mt_store_token_init_pin(env->store, tokens[i].id, so, pin), MT_OK);
    mt_token_list_free(tokens, n);
    mt_store_close(env->store);
    env->store = NULL;
    /* back to version 1: as a store deleted accounts in before this version */
    test_sql(env->path, "ALTER TABLE organizations DROP COLUMN so_failed_logins;"
                        "ALTER TABLE organizations DROP COLUMN so_max_failures;"
                        "ALTER TABLE organizations DROP COLUMN so_next_attempt_at;"
                        "DROP INDEX certificates_org_subject;" /* version 3 */
                        "DROP TABLE api_keys;"                 /* version 4 */
                        "ALTER TABLE organizations DROP COLUMN recovery_tag;" /* version 5 */
                        "ALTER TABLE tokens DROP COLUMN pk_tag;"
                        "PRAGMA user_version = 1");
    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    assert_int_equal(mt_store_schema_version(env->store), mt_schema_latest());
    assert_int_equal(mt_store_token_list(env->store, &tokens, &n), MT_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tokens[i].pin_set, tokens[i].has_account);
    assert_int_equal(tokens[0].so_max_failures, 10);
    assert_int_equal(tokens[0].so_failed_logins, 0);
    mt_token_list_free(tokens, n);
    mt_secret_free(so);
    mt_secret_free(pin);
}

static void nested_transactions(void **state)
{
    test_env *env = *state;
    mt_secret *so = test_secret(SO_PIN);
    long orgs = test_count(env->path, "organizations");
    assert_int_equal(mt_store_begin(env->store), MT_OK);
    assert_int_equal(mt_store_org_create(env->store, "one", so, NULL), MT_OK);
    assert_int_equal(mt_store_begin(env->store), MT_OK);
    assert_int_equal(mt_store_org_create(env->store, "two", so, NULL), MT_OK);
    assert_int_equal(mt_store_rollback(env->store), MT_OK); /* inner only */
    assert_int_equal(mt_store_commit(env->store), MT_OK);
    assert_int_equal(test_count(env->path, "organizations"), orgs + 1);
    mt_org *org = NULL;
    assert_int_equal(mt_store_org_find(env->store, "two", &org), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_org_find(env->store, "one", &org), MT_OK);
    mt_org_free(org);

    assert_int_equal(mt_store_begin(env->store), MT_OK);
    assert_int_equal(mt_store_org_create(env->store, "three", so, NULL), MT_OK);
    assert_int_equal(mt_store_rollback(env->store), MT_OK);
    assert_int_equal(test_count(env->path, "organizations"), orgs + 1);
    assert_int_equal(mt_store_commit(env->store), MT_ERR_INTERNAL);
    assert_int_equal(mt_store_rollback(env->store), MT_ERR_INVALID);
    mt_secret_free(so);
}

static void generation_counter(void **state)
{
    test_env *env = *state;
    uint64_t g0 = 0, g1 = 0, g2 = 0, g3 = 0;
    assert_int_equal(mt_store_generation(env->store, &g0), MT_OK);
    assert_int_equal(mt_store_generation(env->store, &g1), MT_OK);
    assert_true(g1 == g0);
    test_import(env, "bob", false);
    assert_int_equal(mt_store_generation(env->store, &g1), MT_OK);
    assert_true(g1 > g0);
    /* another connection's commit is seen */
    mt_store *other = NULL;
    mt_store *reader = NULL;
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_READONLY, &reader), MT_OK);
    assert_int_equal(mt_store_generation(reader, &g2), MT_OK);
    assert_true(g2 == g1);
    assert_int_equal(mt_store_open(env->path, env->config, 0, &other), MT_OK);
    assert_int_equal(mt_store_cert_update(other, 1, "renamed", NULL), MT_OK);
    assert_int_equal(mt_store_generation(env->store, &g2), MT_OK);
    assert_int_equal(mt_store_generation(reader, &g3), MT_OK);
    assert_true(g2 > g1);
    assert_true(g3 == g2);
    /* a failed write changes nothing */
    assert_int_equal(mt_store_cert_update(other, 999, "x", NULL), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_generation(reader, &g3), MT_OK);
    assert_true(g3 == g2);
    /* nor does a transaction that writes no row */
    assert_int_equal(mt_store_begin(other), MT_OK);
    assert_int_equal(mt_store_commit(other), MT_OK);
    assert_int_equal(mt_store_generation(reader, &g3), MT_OK);
    assert_true(g3 == g2);
    /* while a real change inside one does */
    assert_int_equal(mt_store_begin(other), MT_OK);
    assert_int_equal(mt_store_cert_update(other, 1, "renamed again", NULL), MT_OK);
    assert_int_equal(mt_store_commit(other), MT_OK);
    assert_int_equal(mt_store_generation(reader, &g3), MT_OK);
    assert_true(g3 > g2);
    mt_store_close(other);
    mt_store_close(reader);
}

typedef struct writer_arg {
    test_env *env;
    int done;
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *w = arg;
    mt_store *store = NULL;
    if (mt_store_open(w->env->path, w->env->config, 0, &store) != MT_OK)
        return NULL;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), "w%d", i);
        if (mt_store_cert_update(store, 1, name, NULL) != MT_OK)
            break;
        w->done++;
    }
    mt_store_close(store);
    return NULL;
}

static void read_only_while_writing(void **state)
{
    test_env *env = *state;
    test_import(env, "alice", false);
    mt_store *ro = NULL;
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_READONLY, &ro), MT_OK);
    mt_secret *so = test_secret(SO_PIN);
    assert_int_equal(mt_store_org_create(ro, "nope", so, NULL), MT_ERR_READONLY);
    mt_secret_free(so);

    writer_arg w = {env, 0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, writer, &w), 0);
    uint64_t last = 0;
    int changes = 0;
    for (int i = 0; i < 400 && changes < 1000; i++) {
        mt_token *tokens = NULL;
        size_t n = 0;
        uint64_t g = 0;
        assert_int_equal(mt_store_token_list(ro, &tokens, &n), MT_OK);
        assert_int_equal(n, 1);
        mt_token_list_free(tokens, n);
        assert_int_equal(mt_store_generation(ro, &g), MT_OK);
        changes += g != last;
        last = g;
    }
    pthread_join(thread, NULL);
    assert_int_equal(w.done, 40);
    mt_cert *cert = NULL;
    assert_int_equal(mt_store_cert_get(ro, 1, &cert), MT_OK);
    assert_string_equal(cert->friendly_name, "w39");
    mt_cert_free(cert);
    mt_store_close(ro);
}

/* A read-only directory where -wal/-shm cannot be created: still readable. */
static void read_only_directory(void **state)
{
    dir_env *env = *state;
    mt_store *store = NULL;
    mt_secret *so = test_secret(SO_PIN);
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_CREATE, &store), MT_OK);
    assert_int_equal(mt_store_org_create(store, "acme", so, NULL), MT_OK);
    mt_store_close(store);
    mt_secret_free(so);
    char sub[300], wal[400];
    snprintf(sub, sizeof(sub), "%s/sub", env->dir);
    snprintf(wal, sizeof(wal), "%s-wal", env->path);
    assert_int_not_equal(access(wal, F_OK), 0); /* closed cleanly: no WAL left */
    chmod(env->dir, 0755);
    chmod(env->path, 0644);
    assert_int_equal(chmod(sub, 0555), 0);
    env->config->strict = false;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* root ignores directory modes: read as an ordinary user */
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        mt_store *ro = NULL;
        mt_org *orgs = NULL;
        size_t n = 0;
        uint64_t g = 0;
        if (mt_store_open(env->path, env->config, MT_OPEN_READONLY, &ro) != MT_OK) {
            fprintf(stderr, "read-only open: %s\n", mt_errmsg());
            _exit(11);
        }
        if (mt_store_org_list(ro, &orgs, &n) != MT_OK || n != 1 || mt_store_generation(ro, &g) != MT_OK)
            _exit(12);
        mt_org_list_free(orgs, n);
        mt_store_close(ro);
        _exit(access(wal, F_OK) == 0 ? 13 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    chmod(sub, 0700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_mode_0600, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(permissions_warning_and_strict, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(migrations, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(migration_2, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(nested_transactions, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(generation_counter, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(read_only_while_writing, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(read_only_directory, dir_setup, dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
