/* Organisations: creation, lookup, the SO PIN (its counter, lock, unlock and
 * wait), and gateway mode's recovery key file. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void create_and_find(void **state)
{
    test_env *env = *state;
    mt_org *org = NULL, *orgs = NULL;
    size_t n = 0;
    mt_secret *so = test_secret(SO_PIN), *weak = test_secret("1234");
    assert_int_equal(mt_store_org_find(env->store, NULL, &org), MT_OK); /* the only one */
    assert_string_equal(org->name, "acme");
    assert_int_equal(org->id, env->org_id);
    mt_org_free(org);
    long events = test_count(env->path, "events");
    assert_int_equal(mt_store_org_create(env->store, "acme", so, NULL), MT_ERR_CONFLICT);
    assert_non_null(strstr(mt_errmsg(), "acme"));
    assert_int_equal(mt_store_org_create(env->store, "weak", weak, NULL), MT_ERR_PIN_POLICY);
    assert_non_null(strstr(mt_errmsg(), "SO PIN"));
    assert_int_equal(mt_store_org_create(env->store, "", so, NULL), MT_ERR_INVALID);
    assert_int_equal(test_count(env->path, "organizations"), 1);
    assert_int_equal(test_count(env->path, "events"), events);

    assert_int_equal(mt_store_org_create(env->store, "globex", so, NULL), MT_OK);
    assert_int_equal(mt_store_org_find(env->store, NULL, &org), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "--org is required"));
    assert_int_equal(mt_store_org_find(env->store, "initech", &org), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_org_find(env->store, "globex", &org), MT_OK);
    mt_org_free(org);
    assert_int_equal(mt_store_org_list(env->store, &orgs, &n), MT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(orgs[1].name, "globex");
    mt_org_list_free(orgs, n);
    mt_secret_free(so);
    mt_secret_free(weak);
}

static void empty_store_has_no_org(void **state)
{
    (void)state;
    char dir[256], path[300];
    mt_store *store = NULL;
    mt_org *org = NULL;
    mt_config *config = test_fast_config();
    test_make_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/empty.db", dir);
    assert_int_equal(mt_store_open(path, config, MT_OPEN_CREATE, &store), MT_OK);
    assert_int_equal(mt_store_org_find(store, NULL, &org), MT_ERR_NOT_FOUND);
    mt_store_close(store);
    mt_config_free(config);
    test_remove_dir(dir);
}

static void so_pin(void **state)
{
    test_env *env = *state;
    mt_secret *so = test_secret(SO_PIN), *wrong = test_secret("wrong-so-pin"), *next = test_secret("next-so-pin-2");
    assert_int_equal(mt_store_so_check(env->store, env->org_id, so), MT_OK);
    assert_int_equal(mt_store_so_check(env->store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_store_so_set_pin(env->store, env->org_id, wrong, next), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_store_so_set_pin(env->store, env->org_id, so, next), MT_OK);
    assert_int_equal(mt_store_so_check(env->store, env->org_id, so), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_store_so_check(env->store, env->org_id, next), MT_OK);
    assert_int_equal(mt_store_so_check(env->store, 999, next), MT_ERR_NOT_FOUND);

    /* the new SO PIN still resets user PINs: the recovery secret is the same */
    test_import(env, "bob", false);
    mt_token *token = NULL;
    mt_secret *pin = test_secret(USER_PIN), *secret = NULL;
    assert_int_equal(mt_store_token_find(env->store, env->org_id, "bob@example.org", &token), MT_OK);
    assert_int_equal(mt_store_token_init_pin(env->store, token->id, next, pin), MT_OK);
    assert_int_equal(mt_store_token_login(env->store, token->id, pin, &secret), MT_OK);
    mt_secret_free(secret);
    mt_token_free(token);
    mt_secret_free(pin);
    mt_secret_free(so);
    mt_secret_free(wrong);
    mt_secret_free(next);
}

static void gateway_mode(void **state)
{
    test_env *env = *state;
    char key_path[400];
    struct stat sb;
    int64_t cert = test_import(env, "carol", false);
    mt_token *token = NULL;
    mt_secret *so = test_secret(SO_PIN), *wrong = test_secret("wrong-so-pin"), *secret = NULL, *pkcs8 = NULL;
    assert_int_equal(mt_store_token_find(env->store, env->org_id, "carol@example.org", &token), MT_OK);
    /* no PIN and no recovery key file: refused */
    assert_int_not_equal(mt_store_token_login(env->store, token->id, NULL, &secret), MT_OK);
    assert_null(secret);

    snprintf(key_path, sizeof(key_path), "%s/recovery.key", env->dir);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, env->org_id, wrong, key_path), MT_ERR_PIN_INCORRECT);
    assert_int_not_equal(stat(key_path, &sb), 0);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, env->org_id, so, key_path), MT_OK);
    assert_int_equal(stat(key_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, env->org_id, so, key_path), MT_ERR_CONFLICT);

    mt_config *config = test_fast_config();
    config->recovery_key_file = strdup(key_path);
    mt_store *gateway = NULL;
    assert_int_equal(mt_store_open(env->path, config, MT_OPEN_READONLY, &gateway), MT_OK);
    /* no user PIN was ever set: the gateway still opens the key */
    assert_int_equal(mt_store_token_login(gateway, token->id, NULL, &secret), MT_OK);
    assert_int_equal(mt_store_key_open(gateway, secret, cert, &pkcs8), MT_OK);
    mt_parsed *parsed = test_parse_user("carol");
    assert_int_equal(pkcs8->len, parsed->entries[0].pkcs8->len);
    assert_memory_equal(pkcs8->data, parsed->entries[0].pkcs8->data, pkcs8->len);
    mt_parsed_free(parsed);
    mt_secret_free(pkcs8);
    mt_secret_free(secret);
    mt_store_close(gateway);

    /* another organisation's recovery key does not fit */
    int64_t other_org = 0;
    char other_path[400];
    snprintf(other_path, sizeof(other_path), "%s/other.key", env->dir);
    assert_int_equal(mt_store_org_create(env->store, "globex", so, &other_org), MT_OK);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, other_org, so, other_path), MT_OK);
    free(config->recovery_key_file);
    config->recovery_key_file = strdup(other_path);
    assert_int_equal(mt_store_open(env->path, config, 0, &gateway), MT_OK);
    assert_int_equal(mt_store_token_login(gateway, token->id, NULL, &secret), MT_ERR_CRYPTO);
    assert_non_null(strstr(mt_errmsg(), "not the recovery key"));
    mt_store_close(gateway);
    mt_config_free(config);
    mt_token_free(token);
    mt_secret_free(so);
    mt_secret_free(wrong);
}

static unsigned so_failed(test_env *env)
{
    mt_org *org = NULL;
    assert_int_equal(mt_store_org_find(env->store, "acme", &org), MT_OK);
    unsigned failed = org->so_failed_logins;
    mt_org_free(org);
    return failed;
}

/* so_pin_max_failures wrong SO PINs lock every SO use (check, user PIN reset,
 * SO PIN change, export); the recovery key file unlocks, and may set a new
 * SO PIN at the same time. */
static void so_pin_locks_and_unlocks(void **state)
{
    test_env *env = *state;
    char key_path[400], other_path[400];
    mt_secret *so = test_secret(SO_PIN), *wrong = test_secret("wrong-so-pin"), *next = test_secret("next-so-pin-2");
    mt_org *org = NULL;
    assert_int_equal(mt_store_org_find(env->store, "acme", &org), MT_OK);
    assert_int_equal(org->so_max_failures, 10); /* the default */
    mt_org_free(org);
    snprintf(key_path, sizeof(key_path), "%s/recovery.key", env->dir);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, env->org_id, so, key_path), MT_OK);
    test_sql(env->path, "UPDATE organizations SET so_max_failures = 3");
    test_import(env, "bob", false);
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_find(env->store, env->org_id, "bob@example.org", &token), MT_OK);

    assert_int_equal(mt_store_so_check(env->store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_store_token_init_pin(env->store, token->id, wrong, next), MT_ERR_PIN_INCORRECT);
    assert_int_equal(so_failed(env), 2);
    assert_int_equal(mt_store_so_check(env->store, env->org_id, so), MT_OK); /* a right one resets */
    assert_int_equal(so_failed(env), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(mt_store_so_check(env->store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    /* locked: the right SO PIN is refused everywhere */
    assert_int_equal(mt_store_so_check(env->store, env->org_id, so), MT_ERR_PIN_LOCKED);
    assert_non_null(strstr(mt_errmsg(), "org unlock-so"));
    assert_int_equal(mt_store_token_init_pin(env->store, token->id, so, next), MT_ERR_PIN_LOCKED);
    assert_int_equal(mt_store_so_set_pin(env->store, env->org_id, so, next), MT_ERR_PIN_LOCKED);
    snprintf(other_path, sizeof(other_path), "%s/again.key", env->dir);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, env->org_id, so, other_path), MT_ERR_PIN_LOCKED);
    assert_int_equal(so_failed(env), 3);
    assert_int_equal(test_count_events(env, "org.so-login-failed"), 5);
    assert_int_equal(test_count_events(env, "org.so-locked"), 1);
    assert_int_equal(test_count_events(env, "org.so-login-refused"), 4);

    /* another organisation's recovery key does not unlock */
    int64_t other_org = 0;
    assert_int_equal(mt_store_org_create(env->store, "globex", so, &other_org), MT_OK);
    assert_int_equal(mt_store_org_export_recovery_key(env->store, other_org, so, other_path), MT_OK);
    assert_int_equal(mt_store_org_unlock_so(env->store, env->org_id, other_path, NULL), MT_ERR_PIN_INCORRECT);
    assert_non_null(strstr(mt_errmsg(), "not the recovery key"));
    assert_int_equal(so_failed(env), 3);
    assert_int_equal(mt_store_org_unlock_so(env->store, env->org_id, key_path, NULL), MT_OK);
    assert_int_equal(so_failed(env), 0);
    assert_int_equal(test_count_events(env, "org.so-unlock"), 1);
    assert_int_equal(mt_store_token_init_pin(env->store, token->id, so, next), MT_OK);

    /* unlock with a new SO PIN: the old one no longer works */
    for (int i = 0; i < 3; i++)
        assert_int_equal(mt_store_so_check(env->store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    mt_secret *weak = test_secret("123");
    assert_int_equal(mt_store_org_unlock_so(env->store, env->org_id, key_path, weak), MT_ERR_PIN_POLICY);
    assert_int_equal(so_failed(env), 3);
    assert_int_equal(mt_store_org_unlock_so(env->store, env->org_id, key_path, next), MT_OK);
    assert_int_equal(mt_store_so_check(env->store, env->org_id, so), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_store_so_check(env->store, env->org_id, next), MT_OK);
    assert_int_equal(test_count_events(env, "org.so-unlock"), 2);
    mt_token_free(token);
    mt_secret_free(weak);
    mt_secret_free(so);
    mt_secret_free(wrong);
    mt_secret_free(next);
}

static int64_t so_next_attempt_at(test_env *env)
{
    return test_query_int(env->path, "SELECT so_next_attempt_at FROM organizations WHERE name = 'acme'");
}

/* After a wrong SO PIN the next one waits 1 s, then 2, 4... up to
 * so_pin_max_delay (2 here); a right one clears the wait. */
static void so_pin_waits_longer_after_each_failure(void **state)
{
    test_env *env = *state;
    mt_secret *so = test_secret(SO_PIN), *wrong = test_secret("wrong-so-pin");
    mt_config *config = test_fast_config();
    config->so_pin_max_delay = 2;
    mt_store *store = NULL;
    assert_int_equal(mt_store_open(env->path, config, 0, &store), MT_OK);
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(mt_store_so_check(store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    int64_t first = so_next_attempt_at(env);
    assert_true(first >= before + 1 && first <= (int64_t)time(NULL) + 1);
    assert_int_equal(mt_store_so_check(store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    assert_true((int64_t)time(NULL) >= first); /* it was not checked before its time */
    int64_t second = so_next_attempt_at(env);
    assert_true(second >= first + 2);
    assert_int_equal(mt_store_so_check(store, env->org_id, wrong), MT_ERR_PIN_INCORRECT);
    assert_true((int64_t)time(NULL) >= second);
    assert_true(so_next_attempt_at(env) >= second + 2); /* capped at 2 s */
    assert_int_equal(mt_store_so_check(store, env->org_id, so), MT_OK);
    assert_int_equal(so_next_attempt_at(env), 0);
    mt_store_close(store);
    mt_config_free(config);
    mt_secret_free(so);
    mt_secret_free(wrong);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_and_find, test_env_setup, test_env_teardown),
        cmocka_unit_test(empty_store_has_no_org),
        cmocka_unit_test_setup_teardown(so_pin, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(gateway_mode, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(so_pin_locks_and_unlocks, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(so_pin_waits_longer_after_each_failure, test_env_setup,
                                        test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
