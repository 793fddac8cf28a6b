/* Renewals: lifecycle, candidate key, installation of the issued certificate. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>


static int setup(void **state)
{
    test_env_setup(state);
    test_env *env = *state;
    int64_t id = test_import(env, "alice", false);
    assert_int_equal(mt_store_account_create(env->store, env->org_id, "alice@example.org", id, &id, 1), MT_OK);
    mt_ca_profile p = {.org_id = env->org_id, .name = (char *)"gs", .kind = (char *)"internetx",
                       .url = (char *)"https://ca.example/"};
    assert_int_equal(mt_store_ca_add(env->store, &p, NULL), MT_OK);
    return 0;
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    return key;
}

static mt_secret *pkcs8_of(EVP_PKEY *key)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    unsigned char *der = NULL;
    int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    assert_true(len > 0);
    mt_secret *secret = NULL;
    assert_int_equal(mt_secret_from(der, (size_t)len, &secret), MT_OK);
    OPENSSL_clear_free(der, (size_t)len);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return secret;
}

static void *read_pem(const char *rel, bool key)
{
    FILE *f = fopen(test_data_path(rel), "r");
    assert_non_null(f);
    void *out = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(out);
    return out;
}

/* An S/MIME certificate for email and key, issued by the test data's intermediate CA. */
static uint8_t *issue(EVP_PKEY *key, const char *email, size_t *len)
{
    X509 *ca = read_pem("ca/sub.crt", false);
    EVP_PKEY *ca_key = read_pem("ca/sub.key", true);
    X509 *cert = X509_new();
    char san[300];
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)(rand() & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8, (const unsigned char *)email, -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(ca));
    X509_set_pubkey(cert, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, cert, NULL, NULL, 0);
    snprintf(san, sizeof(san), "email:%s", email);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(cert, ca_key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    assert_true(n > 0);
    uint8_t *copy = malloc((size_t)n);
    memcpy(copy, der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(der);
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return copy;
}

static void lifecycle(void **state)
{
    test_env *env = *state;
    int64_t id = 0;
    mt_renewal *r = NULL;
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "alice@example.org", "gs", "ec-p256", true, &id), MT_OK);
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "alice@example.org", "gs", "ec-p256", false, NULL), MT_ERR_CONFLICT);
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "nobody@example.org", "gs", "ec-p256", false, NULL), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "alice@example.org", "nope", "ec-p256", false, NULL), MT_ERR_NOT_FOUND);
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "alice@example.org", "gs", "dsa1024", false, NULL), MT_ERR_INVALID);
    assert_int_equal(mt_store_ca_remove(env->store, env->org_id, "gs"), MT_ERR_CONFLICT);

    assert_int_equal(mt_store_renewal_get_active(env->store, env->org_id, "ALICE@example.org", &r), MT_OK);
    assert_int_equal(r->id, id);
    assert_int_equal(r->state, MT_RENEWAL_PLANNED);
    assert_true(r->revoke_old);
    assert_true(r->old_cert_id > 0);
    assert_string_equal(r->driver_state, "{}");

    r->state = MT_RENEWAL_SUBMIT_INTENT;
    free(r->attempt_id);
    r->attempt_id = strdup("attempt-1");
    r->attempts = 1;
    r->next_attempt_at = 12345;
    r->driver_state = (free(r->driver_state), strdup("{\"job\":7}"));
    assert_int_equal(mt_store_renewal_update(env->store, r), MT_OK);
    mt_renewal_free(r);
    assert_int_equal(mt_store_renewal_get(env->store, id, &r), MT_OK);
    assert_int_equal(r->state, MT_RENEWAL_SUBMIT_INTENT);
    assert_string_equal(r->attempt_id, "attempt-1");
    assert_int_equal(r->next_attempt_at, 12345);
    assert_string_equal(r->driver_state, "{\"job\":7}");

    mt_store_stats s;
    assert_int_equal(mt_store_stats_get(env->store, env->org_id, &s), MT_OK);
    assert_int_equal(s.pending_renewals, 1);

    r->state = MT_RENEWAL_CANCELLED;
    assert_int_equal(mt_store_renewal_update(env->store, r), MT_OK);
    mt_renewal_free(r);
    assert_int_equal(mt_store_renewal_get_active(env->store, env->org_id, "alice@example.org", &r), MT_ERR_NOT_FOUND);
    /* a new renewal can start once the old one is over */
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "alice@example.org", "gs", "rsa2048", false, NULL), MT_OK);
    mt_renewal **list = NULL;
    size_t n = 0;
    assert_int_equal(mt_store_renewal_list(env->store, env->org_id, NULL, false, &list, &n), MT_OK);
    assert_int_equal(n, 2);
    mt_renewal_list_free(list, n);
    assert_int_equal(mt_store_renewal_list(env->store, env->org_id, "alice@example.org", true, &list, &n), MT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mt_renewal_state_name(list[0]->state), "planned");
    mt_renewal_list_free(list, n);

    mt_event *events = NULL;
    mt_event_query q = {.org_id = env->org_id, .action = "renewal."};
    assert_int_equal(mt_store_event_list(env->store, &q, &events, &n), MT_OK);
    assert_int_equal(n, 4); /* planned, submit-intent, cancelled, planned */
    assert_string_equal(events[1].action, "renewal.cancelled");
    mt_event_list_free(events, n);
}

static void candidate_and_install(void **state)
{
    test_env *env = *state;
    int64_t id = 0;
    mt_renewal *r = NULL;
    mt_account *account = NULL;
    assert_int_equal(mt_store_renewal_create(env->store, env->org_id, "alice@example.org", "gs", "ec-p256", false, &id), MT_OK);
    EVP_PKEY *key = new_key(), *stranger = new_key();
    mt_secret *pkcs8 = pkcs8_of(key);
    size_t der_len = 0, wrong_len = 0, other_len = 0;
    uint8_t *der = issue(key, "alice@example.org", &der_len);

    /* no candidate yet */
    assert_int_equal(mt_store_renewal_install(env->store, id, der, der_len, NULL, 0), MT_ERR_CONFLICT);
    assert_int_equal(mt_store_renewal_set_candidate_key(env->store, id, pkcs8), MT_OK);
    assert_int_equal(mt_store_renewal_get(env->store, id, &r), MT_OK);
    assert_int_equal(r->state, MT_RENEWAL_KEY_READY);
    assert_non_null(r->candidate_spki);
    mt_renewal_free(r);

    /* a certificate for another key, or another email, is refused and changes nothing */
    uint8_t *wrong_key = issue(stranger, "alice@example.org", &wrong_len);
    uint8_t *other_email = issue(key, "mallory@example.org", &other_len);
    long certs = test_count(env->path, "certificates"), events = test_count(env->path, "events");
    assert_int_equal(mt_store_renewal_install(env->store, id, wrong_key, wrong_len, NULL, 0), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "candidate key"));
    assert_int_equal(mt_store_renewal_install(env->store, id, other_email, other_len, NULL, 0), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "alice@example.org"));
    assert_int_equal(test_count(env->path, "certificates"), certs);
    assert_int_equal(test_count(env->path, "events"), events);

    size_t ca_len = 0;
    uint8_t *ca_der = NULL;
    {
        X509 *ca = read_pem("ca/sub.crt", false);
        unsigned char *tmp = NULL;
        ca_len = (size_t)i2d_X509(ca, &tmp);
        ca_der = malloc(ca_len);
        memcpy(ca_der, tmp, ca_len);
        OPENSSL_free(tmp);
        X509_free(ca);
    }
    mt_blob chain = {ca_der, ca_len};
    assert_int_equal(mt_store_renewal_install(env->store, id, der, der_len, &chain, 1), MT_OK);
    /* idempotent */
    assert_int_equal(mt_store_renewal_install(env->store, id, der, der_len, &chain, 1), MT_OK);
    assert_int_equal(mt_store_renewal_get(env->store, id, &r), MT_OK);
    assert_int_equal(r->state, MT_RENEWAL_INSTALLED);
    assert_int_equal(mt_store_account_get(env->store, env->org_id, "alice@example.org", &account), MT_OK);
    assert_int_equal(account->primary_cert_id, r->new_cert_id);
    assert_int_equal(account->n_history, 2);
    assert_int_equal(account->history[0], r->old_cert_id);
    assert_true(account->internal);

    /* the candidate key opens with the user PIN, as any key of the token */
    mt_secret *so = test_secret(SO_PIN), *pin = test_secret(USER_PIN), *secret = NULL, *opened = NULL;
    assert_int_equal(mt_store_token_init_pin(env->store, account->token_id, so, pin), MT_OK);
    assert_int_equal(mt_store_token_login(env->store, account->token_id, pin, &secret), MT_OK);
    assert_int_equal(mt_store_key_open(env->store, secret, r->new_cert_id, &opened), MT_OK);
    assert_int_equal(opened->len, pkcs8->len);
    assert_memory_equal(opened->data, pkcs8->data, pkcs8->len);
    mt_cert *cert = NULL;
    assert_int_equal(mt_store_cert_get(env->store, r->new_cert_id, &cert), MT_OK);
    assert_int_equal(cert->n_chain, 1);
    assert_true(cert->has_private_key);
    mt_cert_free(cert);

    /* a done renewal cannot take a key any more */
    r->state = MT_RENEWAL_DONE;
    assert_int_equal(mt_store_renewal_update(env->store, r), MT_OK);
    assert_int_equal(mt_store_renewal_set_candidate_key(env->store, id, pkcs8), MT_ERR_CONFLICT);

    mt_secret_free(opened);
    mt_secret_free(secret);
    mt_secret_free(so);
    mt_secret_free(pin);
    mt_renewal_free(r);
    mt_account_free(account);
    free(ca_der);
    free(der);
    free(wrong_key);
    free(other_email);
    mt_secret_free(pkcs8);
    EVP_PKEY_free(key);
    EVP_PKEY_free(stranger);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lifecycle, setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(candidate_and_install, setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
