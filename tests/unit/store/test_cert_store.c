/* Stored certificates: idempotent import, keys added to public rows, chains,
 * queries, updates, deletes, and the raw scan for secrets in what the store holds. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void import_is_idempotent(void **state)
{
    test_env *env = *state;
    mt_parsed *parsed = test_parse_user("alice");
    int64_t first = 0, second = 0;
    bool created = false;
    assert_int_equal(mt_store_cert_import(env->store, env->org_id, &parsed->entries[0], "Alice", "work", &first, &created), MT_OK);
    assert_true(created);
    long events = test_count(env->path, "events"), keys = test_count(env->path, "sealed_keys");
    assert_int_equal(mt_store_cert_import(env->store, env->org_id, &parsed->entries[0], NULL, NULL, &second, &created), MT_OK);
    assert_false(created);
    assert_int_equal(second, first);
    assert_int_equal(test_count(env->path, "certificates"), 1);
    assert_int_equal(test_count(env->path, "events"), events);
    assert_int_equal(test_count(env->path, "sealed_keys"), keys);

    mt_cert *cert = NULL;
    assert_int_equal(mt_store_cert_get(env->store, first, &cert), MT_OK);
    assert_int_equal(cert->kind, MT_CERT_P12);
    assert_true(cert->has_private_key);
    assert_string_equal(cert->friendly_name, "Alice");
    assert_string_equal(cert->description, "work");
    assert_memory_equal(cert->info->sha256, parsed->entries[0].cert->sha256, 32);
    /* the P12's chain (sub + root) is kept, leaf-most first */
    assert_int_equal(cert->n_chain, parsed->entries[0].n_chain);
    assert_true(cert->n_chain >= 1);
    assert_memory_equal(cert->chain[0].data, parsed->entries[0].chain[0]->der, cert->chain[0].len);
    mt_cert_free(cert);
    mt_parsed_free(parsed);
}

static void key_added_to_public_row(void **state)
{
    test_env *env = *state;
    int64_t pem_id = test_import(env, "bob", true);
    mt_cert *cert = NULL;
    assert_int_equal(mt_store_cert_get(env->store, pem_id, &cert), MT_OK);
    assert_false(cert->has_private_key);
    assert_int_equal(cert->kind, MT_CERT_PEM);
    mt_cert_free(cert);
    assert_int_equal(test_count(env->path, "sealed_keys"), 0);

    mt_parsed *parsed = test_parse_user("bob");
    int64_t id = 0;
    bool created = true;
    assert_int_equal(mt_store_cert_import(env->store, env->org_id, &parsed->entries[0], NULL, NULL, &id, &created), MT_OK);
    assert_false(created);
    assert_int_equal(id, pem_id);
    assert_int_equal(mt_store_cert_get_by_fingerprint(env->store, env->org_id, parsed->entries[0].cert->sha256, &cert), MT_OK);
    assert_true(cert->has_private_key);
    assert_int_equal(cert->kind, MT_CERT_P12);
    mt_cert_free(cert);
    assert_int_equal(test_count(env->path, "sealed_keys"), 1);
    mt_parsed_free(parsed);

    mt_event *events = NULL;
    size_t n = 0;
    mt_event_query q = {.org_id = env->org_id, .action = "cert.add-key"};
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    assert_int_equal(n, 1);
    mt_event_list_free(events, n);
}

static void list_update_delete(void **state)
{
    test_env *env = *state;
    int64_t alice = test_import(env, "alice", false);
    test_import(env, "alice-old", false);
    int64_t partner = test_import(env, "partner", true);
    test_import(env, "frank", false);
    mt_cert **certs = NULL;
    size_t n = 0, total = 0;

    mt_cert_query q = {.org_id = env->org_id, .email = "Alice@example.org", .kind = -1};
    assert_int_equal(mt_store_cert_list(env->store, &q, &certs, &n, &total), MT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    mt_cert_list_free(certs, n);

    mt_cert_query pem = {.org_id = env->org_id, .kind = MT_CERT_PEM};
    assert_int_equal(mt_store_cert_list(env->store, &pem, &certs, &n, &total), MT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(certs[0]->id, partner);
    mt_cert_list_free(certs, n);

    mt_cert_query expiring = {.org_id = env->org_id, .kind = -1, .expiring_before = (int64_t)time(NULL)};
    assert_int_equal(mt_store_cert_list(env->store, &expiring, &certs, &n, &total), MT_OK);
    assert_int_equal(n, 1); /* frank is expired */
    assert_non_null(strstr(certs[0]->info->emails[0], "frank"));
    mt_cert_list_free(certs, n);

    mt_cert_query page = {.org_id = env->org_id, .kind = -1, .limit = 2, .offset = 1};
    assert_int_equal(mt_store_cert_list(env->store, &page, &certs, &n, &total), MT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 4);
    mt_cert_list_free(certs, n);

    mt_cert *cert = NULL;
    assert_int_equal(mt_store_cert_update(env->store, alice, "Alice S/MIME", NULL), MT_OK);
    assert_int_equal(mt_store_cert_update(env->store, alice, NULL, "laptop"), MT_OK);
    assert_int_equal(mt_store_cert_get(env->store, alice, &cert), MT_OK);
    assert_string_equal(cert->friendly_name, "Alice S/MIME");
    assert_string_equal(cert->description, "laptop");
    mt_cert_free(cert);
    assert_int_equal(mt_store_cert_update(env->store, alice, "", NULL), MT_OK);
    assert_int_equal(mt_store_cert_get(env->store, alice, &cert), MT_OK);
    assert_null(cert->friendly_name);
    mt_cert_free(cert);
    long events = test_count(env->path, "events");
    assert_int_equal(mt_store_cert_update(env->store, alice, "\xff\xfe", NULL), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "friendlyName"));
    assert_int_equal(mt_store_cert_update(env->store, 999, "x", NULL), MT_ERR_NOT_FOUND);
    assert_int_equal(test_count(env->path, "events"), events);

    assert_int_equal(mt_store_cert_delete(env->store, partner), MT_OK);
    assert_int_equal(mt_store_cert_get(env->store, partner, &cert), MT_ERR_NOT_FOUND);
    assert_non_null(strstr(mt_errmsg(), "not found"));
    assert_int_equal(mt_store_cert_delete(env->store, alice), MT_OK);
    assert_int_equal(test_count(env->path, "sealed_keys"), 2); /* alice-old, frank */
}

/* Tokens per email: a certificate naming two emails is sealed to both tokens. */
static void sealed_per_token(void **state)
{
    test_env *env = *state;
    test_import(env, "alice", false);
    test_import(env, "alice-old", false);
    test_import(env, "bob", false);
    /* the three share one CA chain (sub + root), stored once */
    assert_int_equal(test_count(env->path, "chain_certificates"), 2);
    assert_int_equal(test_count(env->path, "certificate_chain"), 6);
    assert_int_equal(test_count(env->path, "tokens"), 2);
    assert_int_equal(test_count(env->path, "sealed_keys"), 3);
}

/* The scan of what the store holds at rest (test_store_raw): NEEDLE nowhere. */
static void assert_absent(const uint8_t *raw, size_t raw_len, const uint8_t *needle, size_t needle_len,
                          const char *what)
{
    if (test_raw_holds(raw, raw_len, needle, needle_len))
        fail_msg("%s found in clear in the store", what);
}

/* Every 32-byte window of the key that is not public material (EC and RSA
 * PKCS#8 carry the public key too, which the certificate shows anyway). */
static void scan_private_windows(const uint8_t *raw, size_t raw_len, const mt_secret *key,
                                 const mt_cert_info *cert)
{
    size_t checked = 0;
    for (size_t off = 0; off + 32 <= key->len; off += 16) {
        if (test_raw_holds(cert->der, cert->der_len, key->data + off, 32))
            continue;
        assert_absent(raw, raw_len, key->data + off, 32, "a 32-byte window of a PKCS#8 key");
        checked++;
    }
    assert_true(checked > 0);
}

/* Imports P12s, then looks for every key's PKCS#8 DER (and a 32-byte slice of
 * it) and every P12 password in what the store holds: the raw bytes of the
 * db, -wal and -shm, or pg_dump of the store's schema on a server. */
static void raw_secret_scan(void **state)
{
    test_env *env = *state;
    const char *names[] = {"alice", "alice-old", "bob", "carol", "dave", "erin", "judy"};
    const size_t n_names = sizeof(names) / sizeof(names[0]);
    mt_parsed *parsed[sizeof(names) / sizeof(names[0])];
    mt_secret *passwords[sizeof(names) / sizeof(names[0])];
    for (size_t i = 0; i < n_names; i++) {
        char rel[128];
        parsed[i] = test_parse_user(names[i]);
        snprintf(rel, sizeof(rel), "users/%s.pass", names[i]);
        assert_int_equal(mt_secret_from_file(test_data_path(rel), &passwords[i]), MT_OK);
        assert_true(passwords[i]->len > 0);
        assert_int_equal(mt_store_cert_import(env->store, env->org_id, &parsed[i]->entries[0], NULL, NULL, NULL, NULL), MT_OK);
    }
    /* a PIN set too: the wrapped secret must not leak either */
    mt_token *token = NULL;
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(USER_PIN);
    assert_int_equal(mt_store_token_find(env->store, env->org_id, "alice@example.org", &token), MT_OK);
    assert_int_equal(mt_store_token_init_pin(env->store, token->id, so, pin), MT_OK);
    mt_token_free(token);

    size_t len = 0;
    uint8_t *raw = test_store_raw(env, &len);
    for (size_t i = 0; i < n_names; i++) {
        const mt_secret *key = parsed[i]->entries[0].pkcs8;
        assert_non_null(key);
        assert_absent(raw, len, key->data, key->len, "a PKCS#8 key");
        scan_private_windows(raw, len, key, parsed[i]->entries[0].cert);
        assert_absent(raw, len, passwords[i]->data, passwords[i]->len, "a P12 password");
    }
    assert_absent(raw, len, (const uint8_t *)USER_PIN, strlen(USER_PIN), "the user PIN");
    assert_absent(raw, len, (const uint8_t *)SO_PIN, strlen(SO_PIN), "the SO PIN");
    /* the scan itself works: the certificate DER is there in clear */
    const mt_cert_info *info = parsed[0]->entries[0].cert;
    assert_true(test_raw_holds(raw, len, info->der, info->der_len));
    free(raw);
    for (size_t i = 0; i < n_names; i++) {
        mt_parsed_free(parsed[i]);
        mt_secret_free(passwords[i]);
    }
    mt_secret_free(so);
    mt_secret_free(pin);
}

static mt_parsed *parse_file(const char *rel)
{
    mt_parsed *parsed = NULL;
    mt_status st = mt_cert_parse_file(test_data_path(rel), NULL, &parsed);
    if (st != MT_OK)
        fail_msg("%s: %s", rel, mt_errmsg());
    return parsed;
}

static size_t stored_chain(test_env *env, int64_t id)
{
    mt_cert *cert = NULL;
    assert_int_equal(mt_store_cert_get(env->store, id, &cert), MT_OK);
    size_t n = cert->n_chain;
    mt_cert_free(cert);
    return n;
}

/* CA certificates imported on their own complete chains, before and after. */
static void authority_completes_chains(void **state)
{
    test_env *env = *state;
    int64_t bob = test_import(env, "bob", true); /* no chain in a PEM */
    assert_int_equal(stored_chain(env, bob), 0);
    mt_parsed *sub = parse_file("ca/sub.crt");
    assert_true(sub->entries[0].authority);
    mt_cert_import_result r;
    assert_int_equal(mt_store_cert_import_ex(env->store, env->org_id, &sub->entries[0], NULL, NULL, &r), MT_OK);
    assert_true(r.created);
    assert_int_equal(r.n_extended, 1);
    assert_int_equal(stored_chain(env, bob), 1);
    /* an authority names no email: no account can take it */
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "bob@example.org", r.cert_id, &r.cert_id, 1),
                     MT_ERR_INVALID);
    mt_parsed *root = parse_file("ca/root.crt");
    assert_int_equal(mt_store_cert_import_ex(env->store, env->org_id, &root->entries[0], NULL, NULL, &r), MT_OK);
    assert_int_equal(r.n_extended, 2); /* bob's chain and the sub CA's */
    assert_int_equal(stored_chain(env, bob), 2);
    /* a certificate that comes later gets its chain from them */
    mt_parsed *carol = test_parse_user_pem("carol");
    assert_int_equal(mt_store_cert_import_ex(env->store, env->org_id, &carol->entries[0], NULL, NULL, &r), MT_OK);
    assert_int_equal(r.n_chain, 2);
    assert_int_equal(r.n_chain_from_store, 2);
    mt_parsed_free(sub);
    mt_parsed_free(root);
    mt_parsed_free(carol);
}

/* A stored certificate gains the longer chain of a later file, once. */
static void longer_chain_replaces(void **state)
{
    test_env *env = *state;
    int64_t alice = test_import(env, "alice", true);
    mt_parsed *p12 = test_parse_user("alice");
    mt_cert_import_result r;
    long events = test_count(env->path, "events");
    assert_int_equal(mt_store_cert_import_ex(env->store, env->org_id, &p12->entries[0], NULL, NULL, &r), MT_OK);
    assert_false(r.created);
    assert_true(r.key_added);
    assert_true(r.chain_added);
    assert_int_equal(r.cert_id, alice);
    assert_int_equal(stored_chain(env, alice), 2);
    /* the token made for the key, cert.add-key, cert.chain */
    assert_int_equal(test_count(env->path, "events"), events + 3);
    assert_int_equal(mt_store_cert_import_ex(env->store, env->org_id, &p12->entries[0], NULL, NULL, &r), MT_OK);
    assert_false(r.key_added || r.chain_added);
    assert_int_equal(test_count(env->path, "events"), events + 3);
    mt_parsed_free(p12);
}

/* The store refuses a key it has no token to seal to. */
static void no_email_no_key(void **state)
{
    test_env *env = *state;
    mt_parsed *alice = test_parse_user("alice");
    mt_parsed_entry entry = alice->entries[0];
    mt_cert_info *copy = mt_cert_info_dup(entry.cert);
    size_t n_emails = copy->n_emails;
    copy->n_emails = 0; /* as a certificate naming none */
    entry.cert = copy;
    entry.n_chain = 0;
    mt_cert_import_result r;
    assert_int_equal(mt_store_cert_import_ex(env->store, env->org_id, &entry, NULL, NULL, &r), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "no token to be sealed to"));
    assert_int_equal(test_count(env->path, "certificates"), 0);
    copy->n_emails = n_emails;
    mt_cert_info_free(copy);
    mt_parsed_free(alice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(import_is_idempotent, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(key_added_to_public_row, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(list_update_delete, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(sealed_per_token, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(raw_secret_scan, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(authority_completes_chains, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(longer_chain_replaces, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(no_email_no_key, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
