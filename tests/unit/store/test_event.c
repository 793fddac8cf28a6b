/* The audit trail and its filters; summary counts. */
#include "support.h"

#include <string.h>

static void filters(void **state)
{
    test_env *env = *state;
    int64_t bob = test_import(env, "bob", false);
    int64_t carol = test_import(env, "carol", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "bob@example.org", bob, &bob, 1), MT_OK);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "carol@example.org", carol, &carol, 1), MT_OK);

    mt_event *events = NULL;
    size_t n = 0;
    mt_event_query all = {0};
    assert_int_equal(mt_store_event_list(env->store, &all, &events, &n), MT_OK);
    /* org.create, 2 x (cert.import, token.create), 2 x account.create */
    assert_int_equal(n, 7);
    assert_string_equal(events[0].action, "account.create"); /* newest first */
    assert_string_equal(events[n - 1].action, "org.create");
    assert_true(events[0].id > events[1].id);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(events[i].actor, "test");
        assert_true(events[i].detail[0] == '{');
        assert_true(events[i].at > 0);
    }
    mt_event_list_free(events, n);

    mt_event_query q = {.action = "cert."};
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    assert_int_equal(n, 2);
    mt_event_list_free(events, n);

    mt_event_query by_subject = {.org_id = env->org_id, .subject = "carol@example.org"};
    assert_int_equal(mt_store_event_list(env->store, &by_subject, &events, &n), MT_OK);
    assert_int_equal(n, 2); /* token.create, account.create */
    mt_event_list_free(events, n);

    mt_event_query limited = {.limit = 3};
    assert_int_equal(mt_store_event_list(env->store, &limited, &events, &n), MT_OK);
    assert_int_equal(n, 3);
    int64_t third = events[2].id;
    mt_event_list_free(events, n);

    /* pages: offset skips the newest, count ignores limit and offset */
    mt_event_query page = {.limit = 3, .offset = 2};
    assert_int_equal(mt_store_event_list(env->store, &page, &events, &n), MT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(events[0].id, third);
    mt_event_list_free(events, n);
    size_t total = 0;
    assert_int_equal(mt_store_event_count(env->store, &page, &total), MT_OK);
    assert_int_equal(total, 7);
    assert_int_equal(mt_store_event_count(env->store, &q, &total), MT_OK);
    assert_int_equal(total, 2);

    mt_event_query other_org = {.org_id = env->org_id + 1};
    assert_int_equal(mt_store_event_list(env->store, &other_org, &events, &n), MT_OK);
    assert_int_equal(n, 0);
    mt_event_list_free(events, n);

    mt_event_query future = {.since = (int64_t)4102444800};
    assert_int_equal(mt_store_event_list(env->store, &future, &events, &n), MT_OK);
    assert_int_equal(n, 0);
    mt_event_list_free(events, n);
}

static void stats(void **state)
{
    test_env *env = *state;
    int64_t bob = test_import(env, "bob", false);
    int64_t partner = test_import(env, "partner", true);
    test_import(env, "alice", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "bob@example.org", bob, &bob, 1), MT_OK);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "partner@partner.example", partner, &partner, 1), MT_OK);
    mt_store_stats s;
    assert_int_equal(mt_store_stats_get(env->store, env->org_id, &s), MT_OK);
    assert_int_equal(s.organizations, 1);
    assert_int_equal(s.accounts, 2);
    assert_int_equal(s.internal_accounts, 1);
    assert_int_equal(s.certificates, 3);
    assert_int_equal(s.certificates_with_key, 2);
    assert_int_equal(s.tokens, 3); /* bob, alice (keys), partner (account) */
    assert_int_equal(s.pending_renewals, 0);
    assert_int_equal(mt_store_stats_get(env->store, env->org_id + 1, &s), MT_OK);
    assert_int_equal(s.accounts, 0);
    assert_int_equal(mt_store_stats_get(env->store, 0, &s), MT_OK);
    assert_int_equal(s.accounts, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(filters, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(stats, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
