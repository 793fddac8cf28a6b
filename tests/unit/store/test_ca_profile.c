/* CA profiles and the CA message queue. */
#include "support.h"

#include <string.h>

static mt_ca_profile profile(int64_t org_id, const char *name, const char *kind, const char *url)
{
    mt_ca_profile p = {.org_id = org_id, .name = (char *)name, .kind = (char *)kind, .url = (char *)url,
                       .credentials_file = (char *)"/etc/mailtoken/ca.cred", .options = NULL};
    return p;
}

static void add_get_list_remove(void **state)
{
    test_env *env = *state;
    mt_ca_profile p = profile(env->org_id, "sectigo", "sectigo", "https://cert-manager.example/");
    int64_t id = 0;
    assert_int_equal(mt_store_ca_add(env->store, &p, &id), MT_OK);
    assert_true(id > 0);
    assert_int_equal(mt_store_ca_add(env->store, &p, NULL), MT_ERR_CONFLICT);
    mt_ca_profile bad = profile(env->org_id, "x", "acme", "https://a.example/");
    assert_int_equal(mt_store_ca_add(env->store, &bad, NULL), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "kind"));
    bad = profile(env->org_id, "x", "internetx", "ftp://a.example/");
    assert_int_equal(mt_store_ca_add(env->store, &bad, NULL), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "url"));
    bad = profile(999, "x", "internetx", "https://a.example/");
    assert_int_equal(mt_store_ca_add(env->store, &bad, NULL), MT_ERR_NOT_FOUND);
    mt_ca_profile q = profile(env->org_id, "gs", "internetx", "https://api.example/");
    q.options = (char *)"{\"product\":\"PersonalSign\"}";
    assert_int_equal(mt_store_ca_add(env->store, &q, NULL), MT_OK);

    mt_ca_profile *got = NULL, *list = NULL;
    size_t n = 0;
    assert_int_equal(mt_store_ca_get(env->store, env->org_id, "sectigo", &got), MT_OK);
    assert_string_equal(got->kind, "sectigo");
    assert_string_equal(got->options, "{}");
    assert_string_equal(got->credentials_file, "/etc/mailtoken/ca.cred");
    mt_ca_profile_free(got);
    assert_int_equal(mt_store_ca_list(env->store, env->org_id, &list, &n), MT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "gs");
    assert_string_equal(list[0].options, "{\"product\":\"PersonalSign\"}");
    mt_ca_profile_list_free(list, n);
    assert_int_equal(mt_store_ca_remove(env->store, env->org_id, "sectigo"), MT_OK);
    assert_int_equal(mt_store_ca_remove(env->store, env->org_id, "sectigo"), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_ca_get(env->store, env->org_id, "sectigo", &got), MT_ERR_NOT_FOUND);
}

static void messages(void **state)
{
    test_env *env = *state;
    bool was_new = false;
    assert_int_equal(mt_store_ca_message_save(env->store, env->org_id, "gs", "m-1", "{\"a\":1}", &was_new), MT_OK);
    assert_true(was_new);
    long events = test_count(env->path, "events");
    assert_int_equal(mt_store_ca_message_save(env->store, env->org_id, "gs", "m-1", "{\"a\":1}", &was_new), MT_OK);
    assert_false(was_new);
    assert_int_equal(test_count(env->path, "events"), events);
    assert_int_equal(mt_store_ca_message_save(env->store, env->org_id, "gs", "m-2", "{}", &was_new), MT_OK);
    assert_true(was_new);
    assert_int_equal(test_count(env->path, "ca_messages"), 2);
    assert_int_equal(mt_store_ca_message_save(env->store, env->org_id, "gs", "", "{}", &was_new), MT_ERR_INVALID);
    assert_int_equal(mt_store_ca_message_save(env->store, 999, "gs", "m-3", "{}", &was_new), MT_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(add_get_list_remove, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(messages, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
