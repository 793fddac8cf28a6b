/* Accounts: the managed-store rules, each failure leaving the store as it was. */
#include "support.h"

#include <stdio.h>
#include <string.h>

typedef struct snapshot {
    long accounts, history, events, tokens;
} snapshot;

static snapshot take(test_env *env)
{
    snapshot s = {test_count(env->path, "accounts"), test_count(env->path, "account_certificates"),
                  test_count(env->path, "events"), test_count(env->path, "tokens")};
    return s;
}

static void assert_unchanged(test_env *env, snapshot before)
{
    snapshot after = take(env);
    assert_int_equal(after.accounts, before.accounts);
    assert_int_equal(after.history, before.history);
    assert_int_equal(after.events, before.events);
    assert_int_equal(after.tokens, before.tokens);
}

static void expect_failure(test_env *env, mt_status got, mt_status want, const char *message_part)
{
    if (got != want || !strstr(mt_errmsg(), message_part))
        fprintf(stderr, "got %s \"%s\", wanted %s containing \"%s\"\n", mt_status_name(got),
                mt_errmsg(), mt_status_name(want), message_part);
    assert_int_equal(got, want);
    assert_non_null(strstr(mt_errmsg(), message_part));
    (void)env;
}

static void create_with_history(void **state)
{
    test_env *env = *state;
    int64_t old_id = test_import(env, "alice-old", false);
    int64_t new_id = test_import(env, "alice", false);
    int64_t history[] = {old_id, new_id};
    mt_account *account = NULL;
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "Alice@Example.org", new_id, history, 2), MT_OK);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_OK);
    assert_string_equal(account->email, "alice@example.org");
    assert_int_equal(account->primary_cert_id, new_id);
    assert_int_equal(account->n_history, 2);
    assert_int_equal(account->history[0], old_id);
    assert_int_equal(account->history[1], new_id);
    assert_true(account->internal);
    assert_true(account->token_id > 0);
    mt_account_free(account);

    mt_event *events = NULL;
    size_t n = 0;
    mt_event_query q = {.org_id = env->org_id, .action = "account.", .subject = "alice@example.org"};
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(events[0].action, "account.create");
    assert_string_equal(events[0].actor, "test");
    assert_non_null(strstr(events[0].detail, "\"primaryCertificateId\""));
    mt_event_list_free(events, n);
}

static void primary_must_be_in_history(void **state)
{
    test_env *env = *state;
    int64_t old_id = test_import(env, "alice-old", false);
    int64_t new_id = test_import(env, "alice", false);
    snapshot before = take(env);
    mt_status st = mt_store_account_create(env->store, env->org_id, "alice@example.org", new_id, &old_id, 1);
    expect_failure(env, st, MT_ERR_INVALID, "primaryCertificateId must be present in certificateHistory");
    st = mt_store_account_create(env->store, env->org_id, "alice@example.org", new_id, NULL, 0);
    expect_failure(env, st, MT_ERR_INVALID, "primaryCertificateId must be present in certificateHistory");
    assert_unchanged(env, before);
}

static void duplicate_is_conflict(void **state)
{
    test_env *env = *state;
    int64_t id = test_import(env, "bob", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "bob@example.org", id, &id, 1), MT_OK);
    snapshot before = take(env);
    mt_status st = mt_store_account_create(env->store, env->org_id, "BOB@example.org", id, &id, 1);
    expect_failure(env, st, MT_ERR_CONFLICT, "bob@example.org already exists");
    assert_unchanged(env, before);
}

static void unknown_certificate_is_not_found(void **state)
{
    test_env *env = *state;
    int64_t id = test_import(env, "bob", false);
    int64_t history[] = {id, 4242};
    snapshot before = take(env);
    mt_status st = mt_store_account_create(env->store, env->org_id, "bob@example.org", id, history, 2);
    expect_failure(env, st, MT_ERR_NOT_FOUND, "certificate 4242 not found");
    assert_unchanged(env, before);
}

static void certificate_must_name_email(void **state)
{
    test_env *env = *state;
    int64_t bob = test_import(env, "bob", false);
    int64_t carol = test_import(env, "carol", false);
    int64_t history[] = {bob, carol};
    snapshot before = take(env);
    mt_status st = mt_store_account_create(env->store, env->org_id, "bob@example.org", bob, history, 2);
    expect_failure(env, st, MT_ERR_INVALID, "certificateHistory");
    assert_non_null(strstr(mt_errmsg(), "does not name bob@example.org"));
    assert_unchanged(env, before);
}

static void invalid_email_and_org(void **state)
{
    test_env *env = *state;
    int64_t bob = test_import(env, "bob", false);
    snapshot before = take(env);
    expect_failure(env, mt_store_account_create(env->store, env->org_id, "not-an-email", bob, &bob, 1),
                   MT_ERR_INVALID, "email");
    expect_failure(env, mt_store_account_create(env->store, env->org_id, "", bob, &bob, 1), MT_ERR_INVALID,
                   "email is required");
    expect_failure(env, mt_store_account_create(env->store, 999, "bob@example.org", bob, &bob, 1),
                   MT_ERR_NOT_FOUND, "organisation 999 not found");
    assert_unchanged(env, before);
}

static void set_primary_and_history(void **state)
{
    test_env *env = *state;
    int64_t old_id = test_import(env, "alice-old", false);
    int64_t new_id = test_import(env, "alice", false);
    int64_t bob = test_import(env, "bob", false);
    mt_account *account = NULL;
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", old_id, &old_id, 1), MT_OK);

    snapshot before = take(env);
    expect_failure(env, mt_store_account_set_primary(env->store, env->org_id, "alice@example.org", new_id),
                   MT_ERR_INVALID, "primaryCertificateId must be present in certificateHistory");
    expect_failure(env, mt_store_account_set_primary(env->store, env->org_id, "alice@example.org", 777),
                   MT_ERR_NOT_FOUND, "certificate 777 not found");
    expect_failure(env, mt_store_account_add_to_history(env->store, env->org_id, "alice@example.org", bob),
                   MT_ERR_INVALID, "certificateHistory");
    expect_failure(env, mt_store_account_add_to_history(env->store, env->org_id, "nobody@example.org", new_id),
                   MT_ERR_NOT_FOUND, "account nobody@example.org not found");
    assert_unchanged(env, before);

    assert_int_equal(mt_store_account_add_to_history(env->store, env->org_id, "alice@example.org", new_id), MT_OK);
    long events = test_count(env->path, "events");
    /* idempotent: a second add changes nothing, not even the audit trail */
    assert_int_equal(mt_store_account_add_to_history(env->store, env->org_id, "alice@example.org", new_id), MT_OK);
    assert_int_equal(test_count(env->path, "events"), events);
    assert_int_equal(mt_store_account_set_primary(env->store, env->org_id, "alice@example.org", new_id), MT_OK);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_OK);
    assert_int_equal(account->primary_cert_id, new_id);
    assert_int_equal(account->n_history, 2);
    assert_int_equal(account->history[0], old_id);
    mt_account_free(account);
}

/* An internal account's primary keeps a private key: a public-only
 * certificate naming the email may join the history, not replace the primary. */
static void internal_primary_keeps_a_key(void **state)
{
    test_env *env = *state;
    int64_t keyed = test_import(env, "alice", false);
    int64_t public_only = test_import(env, "alice-old", true);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", keyed, &keyed, 1), MT_OK);
    assert_int_equal(mt_store_account_add_to_history(env->store, env->org_id, "alice@example.org", public_only), MT_OK);
    snapshot before = take(env);
    expect_failure(env, mt_store_account_set_primary(env->store, env->org_id, "alice@example.org", public_only),
                   MT_ERR_INVALID, "the primary of an internal account must have one");
    assert_unchanged(env, before);
    /* An external account may change to another public certificate, or gain a key. */
    int64_t history[] = {public_only, keyed};
    assert_int_equal(mt_store_account_delete(env->store, env->org_id, "alice@example.org", false), MT_OK);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", public_only, history, 2), MT_OK);
    assert_int_equal(mt_store_account_set_primary(env->store, env->org_id, "alice@example.org", keyed), MT_OK);
}

static void external_account(void **state)
{
    test_env *env = *state;
    int64_t id = test_import(env, "partner", true);
    mt_account *account = NULL;
    mt_token *token = NULL;
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "partner@partner.example", id, &id, 1), MT_OK);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "partner@partner.example", &account), MT_OK);
    assert_false(account->internal);
    assert_int_equal(mt_store_token_get(env->store, account->token_id, &token), MT_OK);
    assert_true(token->has_account);
    assert_false(token->internal);
    assert_int_equal(token->n_private_keys, 0);
    mt_token_free(token);
    mt_account_free(account);
}

static void delete_keeps_token_and_purges(void **state)
{
    test_env *env = *state;
    int64_t old_id = test_import(env, "alice-old", false);
    int64_t new_id = test_import(env, "alice", false);
    int64_t history[] = {old_id, new_id};
    mt_account *account = NULL;
    mt_token *token = NULL;
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", new_id, history, 2), MT_OK);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_OK);
    int64_t token_id = account->token_id;
    mt_account_free(account);

    assert_int_equal(mt_store_cert_delete(env->store, new_id), MT_ERR_CONFLICT);
    assert_int_equal(mt_store_account_delete(env->store, env->org_id, "alice@example.org", true), MT_OK);
    assert_int_equal(test_count(env->path, "accounts"), 0);
    assert_int_equal(test_count(env->path, "certificates"), 0);
    assert_int_equal(test_count(env->path, "sealed_keys"), 0);
    assert_int_equal(test_count(env->path, "chain_certificates"), 0);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_ERR_NOT_FOUND);
    /* the token outlives the account, with the same id */
    assert_int_equal(mt_store_token_get(env->store, token_id, &token), MT_OK);
    assert_false(token->has_account);
    mt_token_free(token);
    int64_t again = test_import(env, "alice", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", again, &again, 1), MT_OK);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_OK);
    assert_int_equal(account->token_id, token_id);
    mt_account_free(account);
}

static mt_status login_with(test_env *env, int64_t token_id, const char *pin_text)
{
    mt_secret *pin = test_secret(pin_text), *secret = NULL;
    mt_status st = mt_store_token_login(env->store, token_id, pin, &secret);
    mt_secret_free(secret);
    mt_secret_free(pin);
    return st;
}

static void set_pin(test_env *env, int64_t token_id, const char *pin_text)
{
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(pin_text);
    assert_int_equal(mt_store_token_init_pin(env->store, token_id, so, pin), MT_OK);
    mt_secret_free(so);
    mt_secret_free(pin);
}

/* Delete (with and without --purge), re-create: the old holder's PIN and
 * counter are gone, the new holder gets a PIN from the SO. */
static void recreated_account_starts_clean(void **state)
{
    test_env *env = *state;
    for (int purge = 0; purge <= 1; purge++) {
        int64_t cert = test_import(env, "alice", false);
        mt_account *account = NULL;
        assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", cert,
                                                 &cert, 1), MT_OK);
        assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_OK);
        int64_t token_id = account->token_id;
        mt_account_free(account);
        set_pin(env, token_id, "previous-holder-pin");
        assert_int_equal(login_with(env, token_id, "wrong-guess-999"), MT_ERR_PIN_INCORRECT);
        assert_int_equal(login_with(env, token_id, "previous-holder-pin"), MT_OK);
        assert_int_equal(login_with(env, token_id, "wrong-guess-999"), MT_ERR_PIN_INCORRECT);

        assert_int_equal(mt_store_account_delete(env->store, env->org_id, "alice@example.org", purge), MT_OK);
        cert = test_import(env, "alice", false);
        assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", cert,
                                                 &cert, 1), MT_OK);
        mt_token *token = NULL;
        assert_int_equal(mt_store_token_get(env->store, token_id, &token), MT_OK);
        assert_true(token->has_account); /* the same token, slot number kept */
        assert_false(token->pin_set);
        assert_int_equal(token->failed_logins, 0);
        mt_token_free(token);
        assert_int_equal(login_with(env, token_id, "previous-holder-pin"), MT_ERR_PIN_NOT_SET);
        set_pin(env, token_id, "next-holder-pin-1");
        assert_int_equal(login_with(env, token_id, "previous-holder-pin"), MT_ERR_PIN_INCORRECT);
        assert_int_equal(login_with(env, token_id, "next-holder-pin-1"), MT_OK);

        mt_event *events = NULL;
        size_t n = 0;
        mt_event_query q = {.org_id = env->org_id, .action = "account.delete", .limit = 1};
        assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
        assert_int_equal(n, 1);
        assert_string_equal(events[0].detail, purge ? "{\"purge\":true,\"pinCleared\":true}"
                                                    : "{\"purge\":false,\"pinCleared\":true}");
        mt_event_list_free(events, n);
        assert_int_equal(mt_store_account_delete(env->store, env->org_id, "alice@example.org", true), MT_OK);
    }
}

static void list_and_by_token(void **state)
{
    test_env *env = *state;
    const char *names[] = {"bob", "carol", "dave"};
    for (int i = 0; i < 3; i++) {
        char email[64];
        int64_t id = test_import(env, names[i], false);
        snprintf(email, sizeof(email), "%s@example.org", names[i]);
        assert_int_equal(mt_store_account_create(env->store, env->org_id, email, id, &id, 1), MT_OK);
    }
    mt_account **accounts = NULL;
    size_t n = 0, total = 0;
    assert_int_equal(mt_store_account_list(env->store, env->org_id, 2, 1, &accounts, &n, &total), MT_OK);
    assert_int_equal(total, 3);
    assert_int_equal(n, 2);
    assert_string_equal(accounts[0]->email, "carol@example.org");
    assert_string_equal(accounts[1]->email, "dave@example.org");
    mt_account *by_token = NULL;
    assert_int_equal(mt_store_account_get_by_token(env->store, accounts[0]->token_id, &by_token), MT_OK);
    assert_string_equal(by_token->email, "carol@example.org");
    assert_int_equal(by_token->n_history, 1);
    mt_account_free(by_token);
    mt_account_list_free(accounts, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_with_history, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(primary_must_be_in_history, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(duplicate_is_conflict, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(unknown_certificate_is_not_found, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(certificate_must_name_email, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(invalid_email_and_org, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(set_primary_and_history, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(internal_primary_keeps_a_key, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(external_account, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(delete_keeps_token_and_purges, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(recreated_account_starts_clean, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(list_and_by_token, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
