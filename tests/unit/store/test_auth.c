/* Public keys authenticated before anything is sealed to them (auth.c,
 * known_keys.c), the KDF window, sealed keys checked against their
 * certificate, `org verify` / `org rewrap`, and `account rekey`: one test per
 * way a writer of the store (a file, or rows on a server) could tamper with it. */
#include "support.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A store key file in the test's directory, and the store opened with it
 * (replacing the fixture's handle), so that rows carry tags. */
static void use_store_key(test_env *env)
{
    char path[400], hex[65];
    uint8_t key[32];
    snprintf(path, sizeof(path), "%s/store.key", env->dir);
    randombytes_buf(key, sizeof(key));
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hex, 64), 64);
    close(fd);
    free(env->config->store_key_file);
    env->config->store_key_file = strdup(path);
    mt_store_close(env->store);
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_CREATE, &env->store), MT_OK);
    assert_int_equal(mt_store_set_actor(env->store, "test"), MT_OK);
}

/* A fresh store whose organisation is created with the store key (tagged). */
static int keyed_setup(void **state)
{
    test_env_setup(state);
    test_env *env = *state;
    test_store_remove(env);
    char key[400];
    snprintf(key, sizeof(key), "%s/mailtoken/known-keys", env->dir);
    unlink(key);
    use_store_key(env);
    mt_secret *so = test_secret(SO_PIN);
    assert_int_equal(mt_store_org_create(env->store, "acme", so, &env->org_id), MT_OK);
    mt_secret_free(so);
    return 0;
}

static int64_t token_of(test_env *env, const char *email)
{
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_find(env->store, env->org_id, email, &token), MT_OK);
    int64_t id = token->id;
    mt_token_free(token);
    return id;
}

static void init_pin(test_env *env, int64_t token_id)
{
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(USER_PIN);
    assert_int_equal(mt_store_token_init_pin(env->store, token_id, so, pin), MT_OK);
    mt_secret_free(so);
    mt_secret_free(pin);
}

static mt_status login(test_env *env, int64_t token_id)
{
    mt_secret *pin = test_secret(USER_PIN), *secret = NULL;
    mt_status st = mt_store_token_login(env->store, token_id, pin, &secret);
    mt_secret_free(secret);
    mt_secret_free(pin);
    return st;
}

static unsigned failed_logins(test_env *env, int64_t token_id)
{
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_get(env->store, token_id, &token), MT_OK);
    unsigned failed = token->failed_logins;
    mt_token_free(token);
    return failed;
}

static mt_status import(test_env *env, const char *name)
{
    mt_parsed *parsed = test_parse_user(name);
    int64_t id = 0;
    mt_status st = mt_store_cert_import(env->store, env->org_id, &parsed->entries[0], NULL, NULL, &id, NULL);
    mt_parsed_free(parsed);
    return st;
}

static void assert_error_has(const char *text)
{
    if (!strstr(mt_errmsg(), text))
        fail_msg("\"%s\" does not contain \"%s\"", mt_errmsg(), text);
}

/* org verify with the SO PIN: the report, which must have one finding of `what`. */
static mt_verify_report *verify_finds(test_env *env, const char *what, const char *text)
{
    mt_secret *so = test_secret(SO_PIN);
    mt_verify_report *report = NULL;
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, 0, &report), MT_OK);
    mt_secret_free(so);
    bool found = false;
    for (size_t i = 0; i < report->n_findings; i++)
        found |= !strcmp(report->findings[i].what, what) && strstr(report->findings[i].message, text);
    if (!found)
        fail_msg("org verify: no %s finding saying \"%s\" (%zu findings)", what, text, report->n_findings);
    return report;
}

static void verify_clean(test_env *env)
{
    mt_secret *so = test_secret(SO_PIN);
    mt_verify_report *report = NULL;
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, 0, &report), MT_OK);
    for (size_t i = 0; i < report->n_findings; i++)
        fprintf(stderr, "finding: %s %s\n", report->findings[i].what, report->findings[i].message);
    assert_int_equal(report->n_findings, 0);
    mt_verify_report_free(report);
    mt_secret_free(so);
}

/* An attacker's X25519 public key in bob's token row (the reported attack):
 * the import of bob's next key is refused, nothing is sealed, the refusal is
 * an event, and org verify names the token. */
static void token_key_swapped(test_env *env, const char *why)
{
    uint8_t pk[32], sk[32];
    char sql[1200], hex[65];
    assert_int_equal(import(env, "alice-old"), MT_OK);
    verify_clean(env);
    long sealed_before = test_count(env->path, "sealed_keys");
    long certs_before = test_count(env->path, "certificates");
    crypto_box_keypair(pk, sk);
    sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
    snprintf(sql, sizeof(sql), "UPDATE tokens SET public_key = %s WHERE email = 'alice@example.org'",
             test_sql_blob(env->path, hex));
    test_sql(env->path, sql);
    assert_int_equal(import(env, "alice"), MT_ERR_TAMPERED);
    assert_error_has("store tampered: the public key of token");
    assert_error_has(why);
    assert_int_equal(test_count(env->path, "sealed_keys"), sealed_before);
    assert_int_equal(test_count(env->path, "certificates"), certs_before);
    assert_int_equal(test_count_events(env, "store.tampered"), 1);
    mt_verify_report_free(verify_finds(env, "token-key", why));
}

static void token_key_swapped_tagged(void **state)
{
    token_key_swapped(*state, "does not match its tag");
}

static void token_key_swapped_recorded(void **state)
{
    token_key_swapped(*state, "is not the one recorded in");
}

/* The attacker's key as the organisation's recovery key: a new token (whose
 * secret would be sealed to it) is refused; verify stops at the organisation. */
static void recovery_key_swapped(test_env *env, const char *why)
{
    uint8_t pk[32], sk[32];
    char sql[1200], hex[65];
    crypto_box_keypair(pk, sk);
    sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
    snprintf(sql, sizeof(sql), "UPDATE organizations SET recovery_pk = %s", test_sql_blob(env->path, hex));
    test_sql(env->path, sql);
    assert_int_equal(import(env, "bob"), MT_ERR_TAMPERED);
    assert_error_has("store tampered: the recovery key of organisation \"acme\"");
    assert_error_has(why);
    assert_int_equal(test_count(env->path, "tokens"), 0);
    assert_int_equal(test_count(env->path, "sealed_keys"), 0);
    assert_int_equal(test_count_events(env, "store.tampered"), 1);
    mt_secret *so = test_secret(SO_PIN);
    mt_verify_report *report = NULL;
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, 0, &report), MT_ERR_TAMPERED);
    assert_error_has("the recovery key of organisation \"acme\"");
    assert_null(report);
    mt_secret_free(so);
}

static void recovery_key_swapped_tagged(void **state)
{
    recovery_key_swapped(*state, "does not match its tag");
}

static void recovery_key_swapped_recorded(void **state)
{
    recovery_key_swapped(*state, "is not the one recorded in");
}

/* alice has two certificates; their sealed keys swapped: each is refused when
 * opened for the wrong certificate, and verify names both. */
static void sealed_blob_swapped(void **state)
{
    test_env *env = *state;
    int64_t old_cert = test_import(env, "alice-old", false);
    int64_t cert = test_import(env, "alice", false);
    int64_t token = token_of(env, "alice@example.org");
    init_pin(env, token);
    char sql[400];
    snprintf(sql, sizeof(sql),
             "CREATE TEMP TABLE before AS SELECT cert_id, sealed FROM sealed_keys;"
             "UPDATE sealed_keys SET sealed = (SELECT sealed FROM before WHERE before.cert_id ="
             " CASE sealed_keys.cert_id WHEN %lld THEN %lld ELSE %lld END)",
             (long long)old_cert, (long long)cert, (long long)old_cert);
    test_sql(env->path, sql);
    mt_secret *pin = test_secret(USER_PIN), *secret = NULL, *pkcs8 = NULL;
    assert_int_equal(mt_store_token_login(env->store, token, pin, &secret), MT_OK);
    assert_int_equal(mt_store_key_open(env->store, secret, cert, &pkcs8), MT_ERR_TAMPERED);
    assert_error_has("store tampered: the sealed key of certificate");
    assert_error_has("belongs to another public key than its certificate");
    assert_null(pkcs8);
    assert_int_equal(test_count_events(env, "store.tampered"), 1);
    mt_verify_report *report = verify_finds(env, "sealed-key", "belongs to another public key");
    assert_int_equal(report->n_findings, 2);
    mt_verify_report_free(report);
    mt_secret_free(secret);
    mt_secret_free(pin);
}

/* A token's Argon2id limits or salt edited: the login is refused as
 * tampered before the attempt is counted, and verify names the row. */
static void kdf_row_edited(void **state)
{
    test_env *env = *state;
    char short_salt[64];
    snprintf(short_salt, sizeof(short_salt), "UPDATE tokens SET pin_salt = %s", test_sql_blob(env->path, "00"));
    struct { const char *sql, *why; } cases[] = {
        {"UPDATE tokens SET pin_ops = 4294967295", "Argon2id limits ops 4294967295"}, /* froze the module */
        {"UPDATE tokens SET pin_mem = 1099511627776", "memory 1099511627776"},
        {"UPDATE tokens SET pin_mem = 1024", "memory 1024 outside the window"}, /* the right PIN would fail */
        {"UPDATE tokens SET pin_ops = 0", "ops 0,"},
        {short_salt, "a salt that is not 16 bytes"},
        {"UPDATE tokens SET pin_salt = NULL", "a salt that is not 16 bytes"},
    };
    test_import(env, "bob", false);
    int64_t token = token_of(env, "bob@example.org");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        init_pin(env, token); /* a sound row again */
        test_sql(env->path, cases[i].sql);
        assert_int_equal(login(env, token), MT_ERR_TAMPERED);
        assert_error_has("store tampered: the PIN of token");
        assert_error_has(cases[i].why);
        assert_int_equal(failed_logins(env, token), 0); /* no PIN was judged */
        assert_int_equal(test_count_events(env, "store.tampered"), i + 1);
        mt_verify_report_free(verify_finds(env, "pin-kdf", cases[i].why));
    }
}

/* bob's recovery seal replaced by carol's: the SO's reset refuses it, verify
 * names the token. */
static void recovery_seal_swapped(void **state)
{
    test_env *env = *state;
    test_import(env, "bob", false);
    test_import(env, "carol", false);
    test_sql(env->path, "UPDATE tokens SET recovery_sealed = (SELECT recovery_sealed FROM tokens"
                        " WHERE email = 'carol@example.org') WHERE email = 'bob@example.org'");
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(USER_PIN);
    int64_t token = token_of(env, "bob@example.org");
    assert_int_equal(mt_store_token_init_pin(env->store, token, so, pin), MT_ERR_TAMPERED);
    assert_error_has("its secret does not match its public key");
    assert_int_equal(test_count_events(env, "store.tampered"), 1);
    mt_verify_report_free(verify_finds(env, "token-secret", "does not match its public key"));
    mt_secret_free(so);
    mt_secret_free(pin);
}

/* Under strict, a key met for the first time (no tag, not recorded here) is
 * refused; org rewrap (SO PIN) vouches for it, and imports go on. */
static void strict_trusts_no_first_use(void **state)
{
    test_env *env = *state;
    test_import(env, "bob", false);
    char path[400];
    snprintf(path, sizeof(path), "%s/mailtoken/known-keys", env->dir);
    assert_int_equal(unlink(path), 0); /* another importer, who never saw these keys */
    mt_store_close(env->store);
    env->config->strict = true;
    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    assert_int_equal(import(env, "alice"), MT_ERR_CONFLICT); /* a new token: the recovery key */
    assert_error_has("the config says strict");
    mt_secret *so = test_secret(SO_PIN);
    mt_verify_report *report = NULL;
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, MT_VERIFY_ADOPT, &report), MT_OK);
    assert_int_equal(report->n_findings, 0);
    assert_int_equal(report->unrecorded, 2); /* the organisation and bob */
    assert_int_equal(report->adopted, 2);
    mt_verify_report_free(report);
    mt_secret_free(so);
    assert_int_equal(import(env, "alice"), MT_OK);
    assert_int_equal(test_count_events(env, "org.rewrap"), 1);
}

/* A store key file added later: the old PIN keeps working and is wrapped
 * again with the key at the next login; strict refuses the login instead;
 * untagged rows are tagged by org rewrap (or on first use). */
static void store_key_added_later(void **state)
{
    test_env *env = *state;
    test_import(env, "bob", false);
    int64_t token = token_of(env, "bob@example.org");
    init_pin(env, token);
    use_store_key(env);
    env->config->strict = true;
    mt_store_close(env->store);
    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    assert_int_equal(login(env, token), MT_ERR_PIN_NOT_SET);
    assert_error_has("before the store key file and the config says strict");
    env->config->strict = false;
    mt_store_close(env->store);
    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    mt_secret *so = test_secret(SO_PIN);
    mt_verify_report *report = NULL;
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, 0, &report), MT_OK);
    assert_int_equal(report->untagged, 2);
    assert_int_equal(report->unkeyed, 1);
    mt_verify_report_free(report);
    assert_int_equal(login(env, token), MT_OK);
    assert_int_equal(test_count_events(env, "token.rewrap"), 1);
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, MT_VERIFY_ADOPT, &report), MT_OK);
    assert_int_equal(report->unkeyed, 0);
    assert_int_equal(report->adopted, 2);
    mt_verify_report_free(report);
    assert_int_equal(mt_store_org_verify(env->store, env->org_id, so, 0, &report), MT_OK);
    assert_int_equal(report->untagged, 0);
    mt_verify_report_free(report);
    /* the key file is now needed: without it the PIN opens nothing */
    free(env->config->store_key_file);
    env->config->store_key_file = NULL;
    mt_store_close(env->store);
    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    assert_int_not_equal(login(env, token), MT_OK);
    assert_error_has("store_key_file");
    mt_secret_free(so);
}

/* PINs move to the configured limits at their next login. */
static void rewrap_to_new_limits(void **state)
{
    test_env *env = *state;
    test_import(env, "bob", false);
    int64_t token = token_of(env, "bob@example.org");
    init_pin(env, token);
    mt_store_close(env->store);
    env->config->kdf_opslimit = 2;
    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    assert_int_equal(login(env, token), MT_OK);
    assert_int_equal(test_count_events(env, "token.rewrap"), 1);
    assert_int_equal(login(env, token), MT_OK);
    assert_int_equal(test_count_events(env, "token.rewrap"), 1); /* once */
}

/* account rekey: a new key pair, the keys sealed to it again, the PIN gone. */
static void rekey(void **state)
{
    test_env *env = *state;
    int64_t old_cert = test_import(env, "alice-old", false);
    int64_t cert = test_import(env, "alice", false);
    int64_t token = token_of(env, "alice@example.org");
    init_pin(env, token);
    mt_secret *pin = test_secret(USER_PIN), *old_secret = NULL, *secret = NULL, *pkcs8 = NULL;
    assert_int_equal(mt_store_token_login(env->store, token, pin, &old_secret), MT_OK);
    mt_secret *so = test_secret(SO_PIN);
    size_t n = 0;
    assert_int_equal(mt_store_token_rekey(env->store, token, so, &n), MT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(token_of(env, "alice@example.org"), token);
    assert_int_equal(login(env, token), MT_ERR_PIN_NOT_SET);
    /* the old secret opens nothing now */
    assert_int_not_equal(mt_store_key_open(env->store, old_secret, cert, &pkcs8), MT_OK);
    init_pin(env, token);
    assert_int_equal(mt_store_token_login(env->store, token, pin, &secret), MT_OK);
    assert_int_equal(mt_store_key_open(env->store, secret, cert, &pkcs8), MT_OK);
    mt_secret_free(pkcs8);
    assert_int_equal(mt_store_key_open(env->store, secret, old_cert, &pkcs8), MT_OK);
    mt_secret_free(pkcs8);
    assert_int_equal(test_count_events(env, "token.rekey"), 1);
    verify_clean(env);
    /* the importer's record follows: a new import seals to the new key */
    assert_int_equal(import(env, "alice"), MT_OK);
    mt_secret_free(secret);
    mt_secret_free(old_secret);
    mt_secret_free(so);
    mt_secret_free(pin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(token_key_swapped_tagged, keyed_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(token_key_swapped_recorded, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(recovery_key_swapped_tagged, keyed_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(recovery_key_swapped_recorded, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(sealed_blob_swapped, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(kdf_row_edited, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(recovery_seal_swapped, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(strict_trusts_no_first_use, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(store_key_added_later, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(rewrap_to_new_limits, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(rekey, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
