/* API keys: made at random, stored as a hash only, found, listed, revoked. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void create_find_and_hash_only(void **state)
{
    test_env *env = *state;
    int64_t id = 0;
    mt_secret *key = NULL;
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id, MT_SCOPE_WRITE, "hr sync", 0,
                                             &id, &key),
                     MT_OK);
    assert_true(id > 0);
    assert_int_equal(key->len, 47);
    assert_memory_equal(key->data, "mtk_", 4);
    for (size_t i = 4; i < key->len; i++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                               key->data[i]));

    mt_api_key *found = NULL;
    assert_int_equal(mt_store_api_key_find(env->store, (const char *)key->data, key->len, &found),
                     MT_OK);
    assert_int_equal(found->id, id);
    assert_int_equal(found->org_id, env->org_id);
    assert_string_equal(found->org_name, "acme");
    assert_string_equal(found->name, "hr sync");
    assert_int_equal(found->scope, MT_SCOPE_WRITE);
    assert_int_equal(found->expires_at, 0);
    assert_int_equal(found->revoked_at, 0);
    assert_memory_equal(found->prefix, key->data, strlen(found->prefix));
    assert_true(strlen(found->prefix) < 16);
    mt_api_key_free(found);

    /* Only a hash reaches the store: neither the key nor its random part is
     * in what it holds (SQLite's files, or pg_dump of its schema). */
    size_t len = 0;
    uint8_t *raw = test_store_raw(env, &len);
    assert_false(test_raw_holds(raw, len, key->data, key->len));
    assert_false(test_raw_holds(raw, len, key->data + 12, key->len - 12));
    assert_true(test_raw_holds(raw, len, (const uint8_t *)"hr sync", 7)); /* the scan sees the row */
    free(raw);

    /* A key that differs in one character, or is not shaped like a key, is unknown. */
    key->data[20] = key->data[20] == 'A' ? 'B' : 'A';
    assert_int_equal(mt_store_api_key_find(env->store, (const char *)key->data, key->len, &found),
                     MT_ERR_NOT_FOUND);
    assert_null(found);
    assert_string_equal(mt_errmsg(), "unknown API key");
    assert_int_equal(mt_store_api_key_find(env->store, "Bearer", 6, &found), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_api_key_find(env->store, NULL, 0, &found), MT_ERR_NOT_FOUND);
    mt_secret_free(key);
}

static void audit_and_validation(void **state)
{
    test_env *env = *state;
    int64_t id = 0;
    mt_secret *key = NULL;
    long events = test_count(env->path, "events");
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id, MT_SCOPE_ADMIN, NULL,
                                             (int64_t)time(NULL) + 3600, &id, &key),
                     MT_OK);
    mt_secret_free(key);
    mt_event *ev = NULL;
    size_t n = 0;
    mt_event_query q = {.action = "api-key."};
    assert_int_equal(mt_store_event_list(env->store, &q, &ev, &n), MT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].action, "api-key.create");
    assert_string_equal(ev[0].actor, "test");
    assert_non_null(strstr(ev[0].detail, "\"scope\":\"admin\""));
    mt_event_list_free(ev, n);

    /* Refusals change nothing. */
    long keys = test_count(env->path, "api_keys");
    events = test_count(env->path, "events");
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id, MT_SCOPE_READ, NULL,
                                             (int64_t)time(NULL) - 10, &id, &key),
                     MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "past"));
    assert_null(key);
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id + 7, MT_SCOPE_READ, NULL, 0,
                                             &id, &key),
                     MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id, (mt_api_scope)9, NULL, 0,
                                             &id, &key),
                     MT_ERR_INVALID);
    assert_int_equal(test_count(env->path, "api_keys"), keys);
    assert_int_equal(test_count(env->path, "events"), events);

    mt_api_scope scope = MT_SCOPE_READ;
    assert_int_equal(mt_api_scope_parse("admin", &scope), MT_OK);
    assert_int_equal(scope, MT_SCOPE_ADMIN);
    assert_int_equal(mt_api_scope_parse("root", &scope), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "\"root\""));
    assert_string_equal(mt_api_scope_name(MT_SCOPE_WRITE), "write");
}

static void list_and_revoke(void **state)
{
    test_env *env = *state;
    int64_t a = 0, b = 0;
    mt_secret *ka = NULL, *kb = NULL;
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id, MT_SCOPE_READ, "a", 0, &a, &ka),
                     MT_OK);
    assert_int_equal(mt_store_api_key_create(env->store, env->org_id, MT_SCOPE_WRITE, "b", 0, &b, &kb),
                     MT_OK);
    assert_int_equal(mt_store_api_key_revoke(env->store, env->org_id, a), MT_OK);
    assert_int_equal(mt_store_api_key_revoke(env->store, env->org_id, a), MT_ERR_CONFLICT);
    assert_non_null(strstr(mt_errmsg(), "already revoked"));
    assert_int_equal(mt_store_api_key_revoke(env->store, env->org_id + 1, b), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_api_key_revoke(env->store, env->org_id, 999), MT_ERR_NOT_FOUND);

    mt_api_key *keys = NULL;
    size_t n = 0;
    assert_int_equal(mt_store_api_key_list(env->store, env->org_id, false, &keys, &n), MT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(keys[0].id, b);
    mt_api_key_list_free(keys, n);
    assert_int_equal(mt_store_api_key_list(env->store, 0, true, &keys, &n), MT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(keys[0].id, a);
    assert_true(keys[0].revoked_at > 0);
    mt_api_key_list_free(keys, n);

    /* A revoked key is still found, marked revoked: the server says why it refuses. */
    mt_api_key *found = NULL;
    assert_int_equal(mt_store_api_key_find(env->store, (const char *)ka->data, ka->len, &found),
                     MT_OK);
    assert_true(found->revoked_at > 0);
    mt_api_key_free(found);
    mt_secret_free(ka);
    mt_secret_free(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_find_and_hash_only, test_env_setup,
                                        test_env_teardown),
        cmocka_unit_test_setup_teardown(audit_and_validation, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(list_and_revoke, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
