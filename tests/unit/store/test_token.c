/* Tokens: created on demand, PIN flows, failure counter (counted before the
 * PIN is checked, exact under parallel attempts, fail-closed where it cannot
 * be written), store key file, gateway mode, label and serial. */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

/* Valid UTF-8 (the store's own check is internal). */
static bool utf8_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int extra = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0)
            return false;
        p++;
        for (int k = 0; k < extra; k++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static int64_t token_of(test_env *env, const char *email)
{
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_find(env->store, env->org_id, email, &token), MT_OK);
    int64_t id = token->id;
    mt_token_free(token);
    return id;
}

static void init_pin(test_env *env, int64_t token_id, const char *pin_text)
{
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(pin_text);
    mt_status st = mt_store_token_init_pin(env->store, token_id, so, pin);
    if (st != MT_OK)
        fprintf(stderr, "init-pin: %s\n", mt_errmsg());
    assert_int_equal(st, MT_OK);
    mt_secret_free(so);
    mt_secret_free(pin);
}

static unsigned failed_logins(mt_store *store, int64_t token_id)
{
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_get(store, token_id, &token), MT_OK);
    unsigned failed = token->failed_logins;
    mt_token_free(token);
    return failed;
}

static mt_status login(test_env *env, int64_t token_id, const char *pin_text, mt_secret **secret)
{
    mt_secret *pin = pin_text ? test_secret(pin_text) : NULL;
    mt_status st = mt_store_token_login(env->store, token_id, pin, secret);
    mt_secret_free(pin);
    return st;
}

/* The opened key (st its status) is the PKCS#8 of the test data's NAME.p12. */
static void assert_opened(mt_status st, mt_secret *pkcs8, const char *name)
{
    if (st != MT_OK)
        fprintf(stderr, "key open: %s\n", mt_errmsg());
    assert_int_equal(st, MT_OK);
    mt_parsed *parsed = test_parse_user(name);
    assert_int_equal(pkcs8->len, parsed->entries[0].pkcs8->len);
    assert_memory_equal(pkcs8->data, parsed->entries[0].pkcs8->data, pkcs8->len);
    mt_secret_free(pkcs8);
    mt_parsed_free(parsed);
}

static void assert_key_opens(test_env *env, const mt_secret *secret, int64_t cert_id, const char *name)
{
    mt_secret *pkcs8 = NULL;
    mt_status st = mt_store_key_open(env->store, secret, cert_id, &pkcs8);
    assert_opened(st, pkcs8, name);
}

static void created_on_import(void **state)
{
    test_env *env = *state;
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_find(env->store, env->org_id, "alice@example.org", &token), MT_ERR_NOT_FOUND);
    test_import(env, "alice", false);
    assert_int_equal(mt_store_token_find(env->store, env->org_id, "ALICE@example.org", &token), MT_OK);
    assert_false(token->has_account);
    assert_false(token->pin_set);
    assert_string_equal(token->org_name, "acme");
    assert_int_equal(token->max_failures, 10);
    mt_token_free(token);
    /* a PEM-only import needs no token */
    test_import(env, "partner", true);
    assert_int_equal(test_count(env->path, "tokens"), 1);
}

/* The slot list's light query agrees with the full list on every token:
 * id order, organisation, email, account and internal flags. */
static void briefs_match_full_list(void **state)
{
    test_env *env = *state;
    int64_t alice = test_import(env, "alice", false);
    test_import(env, "carol", false);
    test_import(env, "partner", true); /* PEM only: no token */
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", alice,
                                             &alice, 1), MT_OK);
    mt_token *tokens = NULL;
    size_t n = 0;
    mt_token_briefs briefs = {0};
    assert_int_equal(mt_store_token_list(env->store, &tokens, &n), MT_OK);
    mt_token_briefs light = {0};
    assert_int_equal(mt_store_token_briefs(env->store, true, &briefs), MT_OK);
    assert_int_equal(mt_store_token_briefs(env->store, false, &light), MT_OK);
    assert_int_equal(light.n, n);
    assert_int_equal(n, 2); /* alice, carol (no account yet) */
    assert_int_equal(briefs.n, n);
    size_t with_account = 0, internal = 0;
    for (size_t i = 0; i < n; i++) {
        const mt_token_brief *b = &briefs.items[i];
        assert_int_equal(b->id, tokens[i].id);
        assert_int_equal(b->org_id, tokens[i].org_id);
        assert_string_equal(b->org_name, "acme");
        assert_string_equal(b->email, tokens[i].email);
        assert_int_equal(b->has_account, tokens[i].has_account);
        assert_int_equal(b->internal, tokens[i].internal);
        assert_int_equal(light.items[i].id, b->id);
        assert_string_equal(light.items[i].email, b->email);
        assert_string_equal(light.items[i].org_name, "acme");
        assert_int_equal(light.items[i].has_account, b->has_account);
        with_account += b->has_account;
        internal += b->internal;
    }
    assert_int_equal(with_account, 1);
    assert_int_equal(internal, 1);
    mt_token_briefs_clear(&briefs);
    mt_token_briefs_clear(&light);
    assert_null(briefs.items);
    mt_token_list_free(tokens, n);
}

/* Token ids far apart (the list orders them by sorting, not by a table
 * indexed by id): still every token, in id order, with its own account flag. */
static void briefs_with_sparse_ids(void **state)
{
    test_env *env = *state;
    int64_t alice = test_import(env, "alice", false);
    test_import(env, "carol", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", alice,
                                             &alice, 1), MT_OK);
    /* two copies of carol's token row under ids beyond any table of ids */
    test_sql(env->path, "INSERT INTO tokens (id, org_id, email, public_key, recovery_sealed,"
                        " max_failures, created_at, updated_at)"
                        " SELECT n.id, t.org_id, n.email, t.public_key, t.recovery_sealed,"
                        " t.max_failures, t.created_at, t.updated_at"
                        " FROM tokens t, (SELECT 5000000 AS id, 'middle@example.org' AS email"
                        "  UNION ALL SELECT 9000000 + (SELECT id FROM tokens"
                        "  WHERE email = 'carol@example.org'), 'far@example.org') n"
                        " WHERE t.email = 'carol@example.org'");
    mt_token_briefs briefs = {0};
    assert_int_equal(mt_store_token_briefs(env->store, false, &briefs), MT_OK);
    assert_int_equal(briefs.n, 4);
    for (size_t i = 1; i < briefs.n; i++)
        assert_true(briefs.items[i - 1].id < briefs.items[i].id);
    assert_string_equal(briefs.items[0].email, "alice@example.org");
    assert_true(briefs.items[0].has_account);
    assert_string_equal(briefs.items[1].email, "carol@example.org");
    assert_false(briefs.items[1].has_account);
    assert_int_equal(briefs.items[2].id, 5000000);
    assert_string_equal(briefs.items[2].email, "middle@example.org");
    assert_int_equal(briefs.items[3].id, 9000000 + briefs.items[1].id);
    for (size_t i = 0; i < briefs.n; i++)
        assert_string_equal(briefs.items[i].org_name, "acme");
    mt_token_briefs_clear(&briefs);
}

static void pin_flows(void **state)
{
    test_env *env = *state;
    int64_t old_cert = test_import(env, "alice-old", false);
    int64_t cert = test_import(env, "alice", false);
    int64_t token_id = token_of(env, "alice@example.org");
    mt_secret *secret = NULL;

    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_ERR_PIN_NOT_SET);
    init_pin(env, token_id, USER_PIN);
    assert_int_equal(login(env, token_id, "wrong-pin-000", &secret), MT_ERR_PIN_INCORRECT);
    assert_null(secret);
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_get(env->store, token_id, &token), MT_OK);
    assert_int_equal(token->failed_logins, 1);
    assert_true(token->pin_set);
    mt_token_free(token);

    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_OK);
    assert_key_opens(env, secret, cert, "alice");
    assert_key_opens(env, secret, old_cert, "alice-old");
    mt_secret_free(secret);
    assert_int_equal(mt_store_token_get(env->store, token_id, &token), MT_OK);
    assert_int_equal(token->failed_logins, 0);
    mt_token_free(token);

    /* change: old PIN required, every key still opens with the new one */
    mt_secret *old_pin = test_secret(USER_PIN), *new_pin = test_secret("another-pin-99"), *bad = test_secret("nope-nope-nope");
    assert_int_equal(mt_store_token_set_pin(env->store, token_id, bad, new_pin), MT_ERR_PIN_INCORRECT);
    mt_secret *weak = test_secret("12345678");
    assert_int_equal(mt_store_token_set_pin(env->store, token_id, old_pin, weak), MT_ERR_PIN_POLICY);
    assert_non_null(strstr(mt_errmsg(), "digits only"));
    assert_int_equal(mt_store_token_set_pin(env->store, token_id, old_pin, new_pin), MT_OK);
    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_ERR_PIN_INCORRECT);
    assert_int_equal(login(env, token_id, "another-pin-99", &secret), MT_OK);
    assert_key_opens(env, secret, cert, "alice");
    assert_key_opens(env, secret, old_cert, "alice-old");
    mt_secret_free(secret);
    mt_secret_free(old_pin);
    mt_secret_free(new_pin);
    mt_secret_free(bad);
    mt_secret_free(weak);

    /* SO reset with a wrong SO PIN fails, with the right one works */
    mt_secret *wrong_so = test_secret("not-the-so-pin"), *reset = test_secret("reset-pin-abc");
    assert_int_equal(mt_store_token_init_pin(env->store, token_id, wrong_so, reset), MT_ERR_PIN_INCORRECT);
    mt_secret_free(wrong_so);
    mt_secret_free(reset);
    init_pin(env, token_id, "reset-pin-abc");
    assert_int_equal(login(env, token_id, "reset-pin-abc", &secret), MT_OK);
    assert_key_opens(env, secret, cert, "alice");
    mt_secret_free(secret);

    /* audit: PIN events, never the PIN */
    mt_event *events = NULL;
    size_t n = 0;
    mt_event_query q = {.org_id = env->org_id, .action = "token."};
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    static const char *const actions[] = {"token.create", "token.init-pin", "token.login-failed",
                                          "token.login-failed", "token.set-pin",
                                          "token.login-failed", "token.init-pin"};
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(events[n - 1 - i].action, actions[i]);
        assert_null(strstr(events[i].detail, "pin-"));
        assert_null(strstr(events[i].detail, USER_PIN));
    }
    /* each failure names the token and the counter it reached */
    char expected[96];
    snprintf(expected, sizeof(expected), "{\"token\":%lld,\"failedLogins\":1,\"maxFailures\":10}",
             (long long)token_id);
    assert_string_equal(events[n - 3].detail, expected);
    assert_string_equal(events[n - 3].subject, "alice@example.org");
    mt_event_list_free(events, n);
    /* the wrong SO PIN too, on the organisation */
    q.action = "org.so-";
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(events[0].action, "org.so-login-failed");
    assert_string_equal(events[0].detail, "{\"failedLogins\":1,\"maxFailures\":10}");
    mt_event_list_free(events, n);
}

static void other_token_cannot_open(void **state)
{
    test_env *env = *state;
    int64_t alice_cert = test_import(env, "alice", false);
    int64_t bob_cert = test_import(env, "bob", false);
    int64_t bob_token = token_of(env, "bob@example.org");
    mt_secret *secret = NULL, *pkcs8 = NULL;
    init_pin(env, bob_token, USER_PIN);
    assert_int_equal(login(env, bob_token, USER_PIN, &secret), MT_OK);
    assert_key_opens(env, secret, bob_cert, "bob");
    assert_int_not_equal(mt_store_key_open(env->store, secret, alice_cert, &pkcs8), MT_OK);
    assert_null(pkcs8);
    /* a random secret opens nothing either */
    mt_secret *random = NULL;
    assert_int_equal(mt_secret_new(32, &random), MT_OK);
    randombytes_buf(random->data, 32);
    assert_int_not_equal(mt_store_key_open(env->store, random, bob_cert, &pkcs8), MT_OK);
    mt_secret_free(random);
    mt_secret_free(secret);
}

static void lock_after_max_failures(void **state)
{
    test_env *env = *state;
    test_import(env, "carol", false);
    int64_t token_id = token_of(env, "carol@example.org");
    mt_secret *secret = NULL;
    init_pin(env, token_id, USER_PIN);
    for (int i = 0; i < 10; i++)
        assert_int_equal(login(env, token_id, "bad-guess-xyz", &secret), MT_ERR_PIN_INCORRECT);
    /* locked: even the right PIN is refused, the PIN KDF is not even run */
    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_ERR_PIN_LOCKED);
    assert_null(secret);
    assert_int_equal(failed_logins(env->store, token_id), 10);
    /* audited: every failure, the lock, the refusal, then the SO's unlock */
    assert_int_equal(test_count_events(env, "token.login-failed"), 10);
    assert_int_equal(test_count_events(env, "token.locked"), 1);
    assert_int_equal(test_count_events(env, "token.login-refused"), 1);
    init_pin(env, token_id, "fresh-pin-after-lock");
    assert_int_equal(test_count_events(env, "token.unlock"), 1);
    assert_int_equal(login(env, token_id, "fresh-pin-after-lock", &secret), MT_OK);
    mt_secret_free(secret);
}

/* N processes, each with its own read-only store (as PKCS#11 clients have),
 * guess at once: exactly max_failures PINs are checked, the others refused. */
static void parallel_attempts_never_pass_the_limit(void **state)
{
    enum { N = 12, MAX = 3 };
    test_env *env = *state;
    test_import(env, "carol", false);
    int64_t token_id = token_of(env, "carol@example.org");
    init_pin(env, token_id, USER_PIN);
    test_sql(env->path, "UPDATE tokens SET max_failures = 3");
    int go[2];
    pid_t pids[N];
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            mt_store *ro = NULL;
            mt_secret *pin = test_secret("bad-guess-xyz"), *secret = NULL;
            char c;
            close(go[1]);
            if (mt_store_open(env->path, env->config, MT_OPEN_READONLY, &ro) != MT_OK)
                _exit(100);
            if (read(go[0], &c, 1) != 0) /* released together when the parent closes it */
                _exit(101);
            _exit((int)mt_store_token_login(ro, token_id, pin, &secret));
        }
    }
    close(go[0]);
    close(go[1]);
    int incorrect = 0, locked = 0;
    for (int i = 0; i < N; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        incorrect += WEXITSTATUS(status) == MT_ERR_PIN_INCORRECT;
        locked += WEXITSTATUS(status) == MT_ERR_PIN_LOCKED;
    }
    assert_int_equal(incorrect, MAX);
    assert_int_equal(locked, N - MAX);
    assert_int_equal(failed_logins(env->store, token_id), MAX);
    assert_int_equal(test_count_events(env, "token.login-failed"), MAX);
    assert_int_equal(test_count_events(env, "token.locked"), 1);
    assert_int_equal(test_count_events(env, "token.login-refused"), N - MAX);
}

/* Runs in a child: a login through LOCATION, a store this child can read but
 * not write (a file: as an ordinary user, since root writes any file; on a
 * server: as a role with SELECT only).  Exit: the login's status, or 100+
 * when the test itself went wrong. */
static int login_as_reader(test_env *env, const char *location, int64_t token_id, const char *pin_text,
                           bool best_effort)
{
    mt_store *ro = NULL;
    mt_secret *pin = test_secret(pin_text), *secret = NULL;
    if (!test_on_server()) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            return 100;
        if (access(location, W_OK) == 0)
            return 101;
    }
    env->config->pin_counter_best_effort = best_effort;
    if (mt_store_open(location, env->config, MT_OPEN_READONLY, &ro) != MT_OK) {
        fprintf(stderr, "read-only open: %s\n", mt_errmsg());
        return 102;
    }
    mt_status st = mt_store_token_login(ro, token_id, pin, &secret);
    if (st == MT_ERR_READONLY && !strstr(mt_errmsg(), "cannot count the login attempt"))
        return 103;
    if (st == MT_OK && !secret)
        return 104;
    return (int)st;
}

static int run_as_reader(test_env *env, const char *location, int64_t token_id, const char *pin_text,
                         bool best_effort)
{
    int status = 0;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(login_as_reader(env, location, token_id, pin_text, best_effort));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* On a server: a role that may read the store's schema and change nothing,
 * and the store's location as that role (the test server's user replaced). */
static void make_reader_role(const test_env *env, char *location, size_t len)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "CREATE ROLE reader_%s LOGIN; GRANT USAGE ON SCHEMA %s TO reader_%s;"
             " GRANT SELECT ON ALL TABLES IN SCHEMA %s TO reader_%s",
             env->schema, env->schema, env->schema, env->schema, env->schema);
    test_sql(getenv("MT_TEST_PG"), sql);
    const char *user = strstr(env->path, "://postgres@");
    assert_non_null(user);
    snprintf(location, len, "%.*s://reader_%s@%s", (int)(user - env->path), env->path, env->schema,
             user + strlen("://postgres@"));
}

/* A reader who cannot write the counter gets no uncounted guesses: refused
 * by default; the old best-effort behaviour only when the config asks.  The
 * reader: a user who cannot write the store file, or a server role with
 * SELECT only. */
static void unwritable_store_fails_closed(void **state)
{
    test_env *env = *state;
    char location[sizeof(env->path) + 64];
    test_import(env, "dave", false);
    int64_t token_id = token_of(env, "dave@example.org");
    init_pin(env, token_id, USER_PIN);
    mt_store_close(env->store); /* closed cleanly: no -wal/-shm left to share */
    env->store = NULL;
    if (test_on_server()) {
        make_reader_role(env, location, sizeof(location));
    } else {
        snprintf(location, sizeof(location), "%s", env->path);
        assert_int_equal(chmod(env->dir, 0755), 0);
        assert_int_equal(chmod(env->path, geteuid() == 0 ? 0644 : 0444), 0); /* root reads as nobody */
    }
    env->config->strict = false;

    assert_int_equal(run_as_reader(env, location, token_id, "bad-guess-xyz", false), MT_ERR_READONLY);
    assert_int_equal(run_as_reader(env, location, token_id, USER_PIN, false), MT_ERR_READONLY);
    assert_int_equal(run_as_reader(env, location, token_id, "bad-guess-xyz", true), MT_ERR_PIN_INCORRECT);
    assert_int_equal(run_as_reader(env, location, token_id, USER_PIN, true), MT_OK);

    assert_int_equal(mt_store_open(env->path, env->config, 0, &env->store), MT_OK);
    assert_int_equal(failed_logins(env->store, token_id), 0); /* nothing could be written */
    assert_int_equal(test_count_events(env, "token.login-failed"), 0);
}

/* A wrong current PIN given to change the PIN counts as a failed login: the
 * counter moves with each one, a login clears it, and enough of them lock
 * the token for set-pin and login alike. */
static void wrong_current_pin_counts(void **state)
{
    test_env *env = *state;
    test_import(env, "bob", false);
    int64_t token_id = token_of(env, "bob@example.org");
    init_pin(env, token_id, USER_PIN);
    mt_secret *bad = test_secret("nope-nope-nope"), *good = test_secret(USER_PIN);
    mt_secret *next = test_secret("next-pin-4321"), *secret = NULL;
    for (unsigned i = 1; i <= 2; i++) {
        assert_int_equal(mt_store_token_set_pin(env->store, token_id, bad, next), MT_ERR_PIN_INCORRECT);
        assert_int_equal(failed_logins(env->store, token_id), i);
    }
    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_OK);
    mt_secret_free(secret);
    assert_int_equal(failed_logins(env->store, token_id), 0);

    mt_token *token = NULL;
    assert_int_equal(mt_store_token_get(env->store, token_id, &token), MT_OK);
    unsigned max = token->max_failures;
    mt_token_free(token);
    assert_true(max > 1);
    for (unsigned i = 1; i < max; i++)
        assert_int_equal(mt_store_token_set_pin(env->store, token_id, bad, next), MT_ERR_PIN_INCORRECT);
    mt_status last = mt_store_token_set_pin(env->store, token_id, bad, next);
    assert_true(last == MT_ERR_PIN_INCORRECT || last == MT_ERR_PIN_LOCKED);
    /* locked: the right current PIN changes nothing and opens nothing */
    assert_int_equal(mt_store_token_set_pin(env->store, token_id, good, next), MT_ERR_PIN_LOCKED);
    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_ERR_PIN_LOCKED);
    assert_null(secret);
    assert_int_equal(login(env, token_id, "next-pin-4321", &secret), MT_ERR_PIN_LOCKED);
    assert_true(failed_logins(env->store, token_id) >= max);
    mt_secret_free(bad);
    mt_secret_free(good);
    mt_secret_free(next);
}

/* Behind the store's back: certificate to's sealed key becomes from's. */
static void move_sealed_key(test_env *env, int64_t from, int64_t to)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE sealed_keys SET sealed = (SELECT sealed FROM sealed_keys WHERE cert_id = %lld)"
             " WHERE cert_id = %lld",
             (long long)from, (long long)to);
    test_sql(env->path, sql);
}

/* The sealed key names the certificate it was sealed for: a key sealed for
 * the account's other certificate does not open as this one's, although the
 * token secret opens the box (a writer moved it: "store tampered"). */
static void sealed_key_bound_to_its_certificate(void **state)
{
    test_env *env = *state;
    int64_t old_cert = test_import(env, "alice-old", false);
    int64_t cert = test_import(env, "alice", false);
    int64_t token_id = token_of(env, "alice@example.org");
    init_pin(env, token_id, USER_PIN);
    move_sealed_key(env, old_cert, cert);
    mt_secret *secret = NULL, *pkcs8 = NULL;
    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_OK);
    assert_int_equal(mt_store_key_open(env->store, secret, cert, &pkcs8), MT_ERR_TAMPERED);
    assert_null(pkcs8);
    assert_non_null(strstr(mt_errmsg(), "another public key"));
    assert_key_opens(env, secret, old_cert, "alice-old");
    mt_secret_free(secret);
}

/* The keys read at login open with no store at all, each the P12's key; a
 * certificate imported after the reading, or another token's secret, finds
 * none there (the caller asks the store); a key moved to another
 * certificate before the reading is refused as tampered, the other opens. */
static void assert_read_key_opens(const mt_sealed_keys *keys, const mt_secret *secret,
                                  int64_t cert_id, const char *name)
{
    mt_secret *pkcs8 = NULL;
    mt_status st = mt_sealed_keys_open(NULL, keys, secret, cert_id, &pkcs8);
    assert_opened(st, pkcs8, name);
}

static void sealed_keys_read_at_login(void **state)
{
    test_env *env = *state;
    int64_t old_cert = test_import(env, "alice-old", false);
    int64_t token_id = token_of(env, "alice@example.org");
    init_pin(env, token_id, USER_PIN);
    mt_secret *secret = NULL, *pkcs8 = NULL, *stranger = test_secret("0123456789abcdef0123456789abcdef");
    mt_sealed_keys *keys = NULL;
    assert_int_equal(login(env, token_id, USER_PIN, &secret), MT_OK);
    assert_int_equal(mt_store_sealed_keys(env->store, secret, &keys), MT_OK);
    assert_int_equal(mt_sealed_keys_count(keys), 1);
    assert_read_key_opens(keys, secret, old_cert, "alice-old");
    int64_t cert = test_import(env, "alice", false);
    assert_int_equal(mt_sealed_keys_open(env->store, keys, secret, cert, &pkcs8), MT_ERR_NOT_FOUND);
    assert_null(pkcs8);
    assert_key_opens(env, secret, cert, "alice");
    assert_int_equal(mt_sealed_keys_open(env->store, keys, stranger, old_cert, &pkcs8),
                     MT_ERR_NOT_FOUND);
    mt_sealed_keys_free(keys);
    assert_int_equal(mt_store_sealed_keys(env->store, secret, &keys), MT_OK);
    assert_int_equal(mt_sealed_keys_count(keys), 2);
    assert_read_key_opens(keys, secret, cert, "alice");
    mt_sealed_keys_free(keys);
    move_sealed_key(env, old_cert, cert);
    assert_int_equal(mt_store_sealed_keys(env->store, secret, &keys), MT_OK);
    assert_int_equal(mt_sealed_keys_open(env->store, keys, secret, cert, &pkcs8), MT_ERR_TAMPERED);
    assert_null(pkcs8);
    assert_int_equal(test_count_events(env, "store.tampered"), 1);
    assert_read_key_opens(keys, secret, old_cert, "alice-old");
    mt_sealed_keys_free(keys);
    mt_secret_free(stranger);
    mt_secret_free(secret);
}

static void counter_on_read_only_store(void **state)
{
    test_env *env = *state;
    test_import(env, "dave", false);
    int64_t token_id = token_of(env, "dave@example.org");
    init_pin(env, token_id, USER_PIN);
    mt_store *ro = NULL;
    mt_secret *pin = test_secret("bad-guess-xyz"), *secret = NULL;
    assert_int_equal(mt_store_open(env->path, env->config, MT_OPEN_READONLY, &ro), MT_OK);
    assert_int_equal(mt_store_token_login(ro, token_id, pin, &secret), MT_ERR_PIN_INCORRECT);
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_get(ro, token_id, &token), MT_OK);
    assert_int_equal(token->failed_logins, 1);
    mt_token_free(token);
    mt_secret_free(pin);
    mt_store_close(ro);
}

static void write_key_file(const char *path)
{
    uint8_t key[32];
    randombytes_buf(key, sizeof(key));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, sizeof(key)), 32);
    close(fd);
}

static void store_key_file_required(void **state)
{
    test_env *env = *state;
    char key_path[400];
    snprintf(key_path, sizeof(key_path), "%s/store.key", env->dir);
    write_key_file(key_path);
    mt_config *config = test_fast_config();
    config->store_key_file = strdup(key_path);
    mt_store *keyed = NULL;
    assert_int_equal(mt_store_open(env->path, config, 0, &keyed), MT_OK);

    mt_parsed *parsed = test_parse_user("bob");
    int64_t cert = 0;
    assert_int_equal(mt_store_cert_import(keyed, env->org_id, &parsed->entries[0], NULL, NULL, &cert, NULL), MT_OK);
    mt_parsed_free(parsed);
    mt_token *token = NULL;
    assert_int_equal(mt_store_token_find(keyed, env->org_id, "bob@example.org", &token), MT_OK);
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(USER_PIN), *secret = NULL;
    assert_int_equal(mt_store_token_init_pin(keyed, token->id, so, pin), MT_OK);
    assert_int_equal(mt_store_token_login(keyed, token->id, pin, &secret), MT_OK);
    mt_secret_free(secret);
    secret = NULL;
    /* without the key file, the right PIN alone opens nothing */
    assert_int_not_equal(mt_store_token_login(env->store, token->id, pin, &secret), MT_OK);
    assert_null(secret);
    assert_non_null(strstr(mt_errmsg(), "store_key_file"));
    /* no PIN was judged: the attempt is given back */
    assert_int_equal(failed_logins(env->store, token->id), 0);
    /* another key file */
    char other_path[400];
    snprintf(other_path, sizeof(other_path), "%s/other.key", env->dir);
    write_key_file(other_path);
    mt_config *other = test_fast_config();
    other->store_key_file = strdup(other_path);
    mt_store *wrong = NULL;
    assert_int_equal(mt_store_open(env->path, other, 0, &wrong), MT_OK);
    /* with another key file, the token's tag does not verify: refused before any PIN is counted */
    assert_int_equal(mt_store_token_login(wrong, token->id, pin, &secret), MT_ERR_TAMPERED);
    assert_non_null(strstr(mt_errmsg(), "another store key file"));
    assert_int_equal(failed_logins(env->store, token->id), 0);
    mt_store_close(wrong);
    mt_config_free(other);
    mt_token_free(token);
    mt_secret_free(so);
    mt_secret_free(pin);
    mt_store_close(keyed);
    mt_config_free(config);
}

static void label_and_serial(void **state)
{
    (void)state;
    char label[33], serial[17], other[33];
    mt_token_label("alice@example.org", label);
    assert_string_equal(label, "alice@example.org");
    mt_token_label("exactly-thirty-two-bytes@exa.org", label);
    assert_int_equal(strlen("exactly-thirty-two-bytes@exa.org"), 32);
    assert_string_equal(label, "exactly-thirty-two-bytes@exa.org");
    mt_token_label("a.very.long.name.indeed@sales.example.org", label);
    assert_int_equal(strlen(label), 32);
    assert_int_equal(label[25], '~');
    assert_memory_equal(label, "a.very.long.name.indeed@s", 25);
    mt_token_label("a.very.long.name.indeed@sales.example.com", other);
    assert_string_not_equal(label, other);
    /* "é" (2 bytes) straddling the cut is not split */
    mt_token_label("aaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9@long.example.org", label);
    assert_true(utf8_ok(label));
    assert_int_equal(label[24], '~');
    mt_token_serial(1, 42, serial);
    assert_string_equal(serial, "000000010000002a");
    mt_token_serial(2, 42, other);
    assert_string_not_equal(serial, other);
}

static void pin_policy(void **state)
{
    (void)state;
    mt_config *config = test_fast_config();
    struct { const char *pin; mt_status want; } cases[] = {
        {"short", MT_ERR_PIN_POLICY}, {"12345678", MT_ERR_PIN_POLICY},
        {"good-pin-1", MT_OK}, {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", MT_OK},
        {"\xff\xfe-bad-utf8", MT_ERR_PIN_POLICY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mt_secret *pin = test_secret(cases[i].pin);
        assert_int_equal(mt_pin_policy_check(config, pin), cases[i].want);
        mt_secret_free(pin);
    }
    /* the common passwords, and the same with digits and signs after them */
    const char *common[] = {"password", "Password1", "Sunshine2024!", "qwertyuiop", "iloveyou123"};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        mt_secret *pin = test_secret(common[i]);
        assert_int_equal(mt_pin_policy_check(config, pin), MT_ERR_PIN_POLICY);
        assert_non_null(strstr(mt_errmsg(), "common password"));
        assert_int_equal(mt_so_pin_policy_check(config, pin), MT_ERR_PIN_POLICY);
        mt_secret_free(pin);
    }
    /* the SO PIN: 12 characters at least */
    mt_secret *eleven = test_secret("good-pin-11"), *twelve = test_secret("good-pin-112");
    assert_int_equal(mt_pin_policy_check(config, eleven), MT_OK);
    assert_int_equal(mt_so_pin_policy_check(config, eleven), MT_ERR_PIN_POLICY);
    assert_non_null(strstr(mt_errmsg(), "so_pin_min_length (12 characters)"));
    assert_int_equal(mt_so_pin_policy_check(config, twelve), MT_OK);
    mt_secret_free(eleven);
    mt_secret_free(twelve);
    mt_secret *digits = test_secret("20482577");
    config->pin_allow_digits_only = true;
    assert_int_equal(mt_pin_policy_check(config, digits), MT_OK);
    config->pin_min_length = 10;
    assert_int_equal(mt_pin_policy_check(config, digits), MT_ERR_PIN_POLICY);
    assert_non_null(strstr(mt_errmsg(), "pin_min_length"));
    mt_secret_free(digits);
    mt_config_free(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(created_on_import, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(briefs_match_full_list, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(briefs_with_sparse_ids, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(pin_flows, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(other_token_cannot_open, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(lock_after_max_failures, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(wrong_current_pin_counts, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(sealed_key_bound_to_its_certificate, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(counter_on_read_only_store, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(parallel_attempts_never_pass_the_limit, test_env_setup,
                                        test_env_teardown),
        cmocka_unit_test_setup_teardown(unwritable_store_fails_closed, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(store_key_file_required, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(sealed_keys_read_at_login, test_env_setup, test_env_teardown),
        cmocka_unit_test(label_and_serial),
        cmocka_unit_test(pin_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
