/* Config file parsing and the store path it leads to. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

static const char *write_conf(const char *name, const char *text)
{
    static char path[400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int setup(void **state)
{
    (void)state;
    test_make_dir(dir, sizeof(dir));
    unsetenv("MAILTOKEN_CONF");
    unsetenv("MAILTOKEN_STORE");
    setenv("HOME", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_remove_dir(dir);
    return 0;
}

static void defaults(void **state)
{
    (void)state;
    mt_config *config = NULL;
    assert_int_equal(mt_config_load(NULL, &config), MT_OK); /* no file at all is fine */
    assert_null(config->source_path);
    assert_int_equal(config->pin_min_length, 8);
    assert_int_equal(config->pin_max_failures, 10);
    assert_int_equal(config->so_pin_max_failures, 10);
    assert_int_equal(config->so_pin_max_delay, 30);
    assert_false(config->pin_counter_best_effort);
    assert_false(config->pin_allow_digits_only);
    assert_false(config->strict);
    assert_null(config->api_listen);
    assert_int_equal(config->api_max_connections, 64);
    assert_int_equal(config->api_timeout, 30);
    assert_int_equal(config->api_max_body, 6 * 1024 * 1024);
    assert_int_equal(config->api_auth_failures, 10);
    mt_config_free(config);
}

static void full_file(void **state)
{
    (void)state;
    const char *path = write_conf("full.conf",
                                  "# comment\n\n"
                                  "store = /srv/mailtoken/store.db\n"
                                  "store_key_file=/etc/mailtoken/store.key\n"
                                  "store_primary = postgresql://primary.example.org/mailtoken\n"
                                  "  pin_min_length = 10  \n"
                                  "pin_allow_digits_only = yes\n"
                                  "pin_max_failures = 0\n"
                                  "so_pin_max_failures = 5\n"
                                  "so_pin_max_delay = 0\n"
                                  "pin_counter = best-effort\n"
                                  "kdf_opslimit = 3\n"
                                  "kdf_memlimit = 67108864\n"
                                  "strict = true\n"
                                  "recovery_key_file = /etc/mailtoken/recovery.key\n"
                                  "ca_bundle = /etc/ssl/certs/ca-certificates.crt\n"
                                  "accounts = org=acme;emails=alice@*,*@sales.example.org;kind=internal\n"
                                  "api_listen = [::]:8443\n"
                                  "api_tls_cert = /etc/mailtoken/api.crt\n"
                                  "api_tls_key = /etc/mailtoken/api.key\n"
                                  "api_plain_listen = unix:/run/mailtoken/api.sock\n"
                                  "api_max_connections = 200\n"
                                  "api_timeout = 10\n"
                                  "api_max_body = 2097152\n"
                                  "api_auth_failures = 3\n");
    mt_config *config = NULL;
    assert_int_equal(mt_config_load(path, &config), MT_OK);
    assert_string_equal(config->source_path, path);
    assert_string_equal(config->store_path, "/srv/mailtoken/store.db");
    assert_string_equal(config->store_key_file, "/etc/mailtoken/store.key");
    assert_string_equal(config->store_primary, "postgresql://primary.example.org/mailtoken");
    assert_int_equal(config->pin_min_length, 10);
    assert_true(config->pin_allow_digits_only);
    assert_int_equal(config->pin_max_failures, 0);
    assert_int_equal(config->so_pin_max_failures, 5);
    assert_int_equal(config->so_pin_max_delay, 0);
    assert_true(config->pin_counter_best_effort);
    assert_int_equal(config->kdf_opslimit, 3);
    assert_int_equal(config->kdf_memlimit, 67108864);
    assert_true(config->strict);
    assert_string_equal(config->filter.org, "acme");
    assert_int_equal(config->filter.n_email_globs, 2);
    assert_int_equal(config->filter.kind, MT_FILTER_INTERNAL);
    assert_string_equal(config->api_listen, "[::]:8443");
    assert_string_equal(config->api_tls_cert, "/etc/mailtoken/api.crt");
    assert_string_equal(config->api_tls_key, "/etc/mailtoken/api.key");
    assert_string_equal(config->api_plain_listen, "unix:/run/mailtoken/api.sock");
    assert_int_equal(config->api_max_connections, 200);
    assert_int_equal(config->api_timeout, 10);
    assert_int_equal(config->api_max_body, 2097152);
    assert_int_equal(config->api_auth_failures, 3);
    char *store = NULL;
    assert_int_equal(mt_config_store_path(config, &store), MT_OK);
    assert_string_equal(store, "/srv/mailtoken/store.db");
    free(store);
    setenv("MAILTOKEN_STORE", "/tmp/from-env.db", 1);
    assert_int_equal(mt_config_store_path(config, &store), MT_OK);
    assert_string_equal(store, "/tmp/from-env.db");
    free(store);
    unsetenv("MAILTOKEN_STORE");
    mt_config_free(config);
}

/* store_primary is the configured store's: set with that store a SQLite
 * file, opening it fails naming the key; another file opened with the same
 * config is not concerned.  $MAILTOKEN_STORE_PRIMARY counts as the key. */
static void primary_belongs_to_the_configured_store(void **state)
{
    (void)state;
    char store_path[400], other[400], text[1024];
    snprintf(store_path, sizeof(store_path), "%s/store.db", dir);
    snprintf(other, sizeof(other), "%s/other.db", dir);
    snprintf(text, sizeof(text), "store = %s\nstore_primary = postgresql://primary.example.org/m\n", store_path);
    mt_config *config = NULL;
    mt_store *store = NULL;
    assert_int_equal(mt_config_load(write_conf("primary.conf", text), &config), MT_OK);
    assert_int_equal(mt_store_open(store_path, config, MT_OPEN_CREATE, &store), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "store_primary"));
    assert_non_null(strstr(mt_errmsg(), store_path));
    assert_null(store);
    assert_int_equal(mt_store_open(other, config, MT_OPEN_CREATE, &store), MT_OK);
    mt_store_close(store);
    free(config->store_primary);
    config->store_primary = NULL;
    setenv("MAILTOKEN_STORE_PRIMARY", "postgresql://primary.example.org/m", 1);
    assert_int_equal(mt_store_open(store_path, config, MT_OPEN_CREATE, &store), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "MAILTOKEN_STORE_PRIMARY"));
    unsetenv("MAILTOKEN_STORE_PRIMARY");
    assert_int_equal(mt_store_open(store_path, config, MT_OPEN_CREATE, &store), MT_OK);
    mt_store_close(store);
    mt_config_free(config);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    struct { const char *text; const char *want; } cases[] = {
        {"store = x\nfrobnicate = 1\n", ":2: unknown key \"frobnicate\""},
        {"pin_min_length = abc\n", ":1: pin_min_length must be a number"},
        {"pin_min_length = 2\n", ":1: pin_min_length must be at least 4"},
        {"strict = maybe\n", ":1: strict must be true or false"},
        {"no equals sign\n", ":1: expected key = value"},
        {"kdf_opslimit = 0\n", ":1: kdf_opslimit must be at least"},
        {"accounts = kind=sideways\n", ":1: accounts filter: kind must be"},
        {"pin_counter = sometimes\n", ":1: pin_counter must be required or best-effort"},
        {"so_pin_max_delay = 7200\n", ":1: so_pin_max_delay must be a number up to 3600"},
        {"api_timeout = 0\n", ":1: api_timeout must be at least 1"},
        {"api_max_body = lots\n", ":1: api_max_body must be a number"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = write_conf("bad.conf", cases[i].text);
        mt_config *config = NULL;
        assert_int_equal(mt_config_load(path, &config), MT_ERR_INVALID);
        assert_null(config);
        if (!strstr(mt_errmsg(), cases[i].want) || !strstr(mt_errmsg(), path))
            fail_msg("\"%s\" does not contain \"%s\"", mt_errmsg(), cases[i].want);
    }
    mt_config *config = NULL;
    assert_int_equal(mt_config_load("/nonexistent/mailtoken.conf", &config), MT_ERR_IO);
    assert_non_null(strstr(mt_errmsg(), "/nonexistent/mailtoken.conf"));
}

static void search_order(void **state)
{
    (void)state;
    char user_dir[400], user_conf[450];
    snprintf(user_dir, sizeof(user_dir), "%s/.config/mailtoken", dir);
    assert_int_equal(system("true"), 0);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", user_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(user_conf, sizeof(user_conf), "%s/mailtoken.conf", user_dir);
    FILE *f = fopen(user_conf, "w");
    fputs("pin_min_length = 12\n", f);
    fclose(f);
    mt_config *config = NULL;
    assert_int_equal(mt_config_load(NULL, &config), MT_OK);
    assert_string_equal(config->source_path, user_conf);
    assert_int_equal(config->pin_min_length, 12);
    mt_config_free(config);
    setenv("MAILTOKEN_CONF", write_conf("env.conf", "pin_min_length = 9\n"), 1);
    assert_int_equal(mt_config_load(NULL, &config), MT_OK);
    assert_int_equal(config->pin_min_length, 9);
    mt_config_free(config);
    unsetenv("MAILTOKEN_CONF");
    /* default store path: XDG_DATA_HOME, else ~/.local/share */
    char *store = NULL;
    setenv("XDG_DATA_HOME", "/xdg", 1);
    assert_int_equal(mt_config_store_path(NULL, &store), MT_OK);
    assert_string_equal(store, "/xdg/mailtoken/store.db");
    free(store);
    unsetenv("XDG_DATA_HOME");
    assert_int_equal(mt_config_store_path(NULL, &store), MT_OK);
    assert_non_null(strstr(store, "/.local/share/mailtoken/store.db"));
    free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(full_file, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_name_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(primary_belongs_to_the_configured_store, setup, teardown),
        cmocka_unit_test_setup_teardown(search_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
