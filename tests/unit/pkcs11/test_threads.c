/* 8 threads sign and decrypt across several tokens while another process
 * imports accounts into the store: every result checked, no error. */
#include "support.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 40

static const char *const users[] = {"alice", "bob", "carol", "dave"};
static const char *const labels[] = {"alice@example.org", "bob@example.org", "carol@example.org",
                                     "dave@example.org"};

typedef struct worker {
    int index;
    const char *user;
    CK_SESSION_HANDLE session;
    int failures;
    char error[256];
} worker;

static int setup(void **state)
{
    (void)state;
    test_load_module();
    test_make_store(users, 4);
    return 0;
}

static int verify_ec(EVP_PKEY *pub, const uint8_t *raw, size_t len, const uint8_t *msg,
                     size_t msg_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(raw, (int)len / 2, NULL), BN_bin2bn(raw + len / 2, (int)len / 2, NULL));
    uint8_t *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
             EVP_DigestVerify(ctx, der, (size_t)der_len, msg, msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

static int verify_rsa(EVP_PKEY *pub, const uint8_t *sig, size_t len, const uint8_t *msg,
                      size_t msg_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
             EVP_DigestVerify(ctx, sig, len, msg, msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int round_trip_decrypt(worker *w, EVP_PKEY *pub, CK_OBJECT_HANDLE key)
{
    uint8_t plain[32], enc[512], dec[512];
    size_t enc_len = sizeof(enc);
    CK_ULONG dec_len = sizeof(dec);
    snprintf((char *)plain, sizeof(plain), "key of thread %d", w->index);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    int ok = EVP_PKEY_encrypt_init(ctx) == 1 && EVP_PKEY_encrypt(ctx, enc, &enc_len, plain, sizeof(plain)) == 1;
    EVP_PKEY_CTX_free(ctx);
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    CK_RV rv = ok ? p11->C_DecryptInit(w->session, &m, key) : CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = p11->C_Decrypt(w->session, enc, enc_len, dec, &dec_len);
    if (rv != CKR_OK || dec_len != sizeof(plain) || memcmp(dec, plain, sizeof(plain)) != 0) {
        snprintf(w->error, sizeof(w->error), "decrypt: rv 0x%lx", (unsigned long)rv);
        return 0;
    }
    return 1;
}

static void *work(void *arg)
{
    worker *w = arg;
    EVP_PKEY *pub = test_cert_pubkey(w->user);
    int rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
    uint8_t msg[64], sig[512];
    for (int round = 0; round < ROUNDS && !w->failures; round++) {
        uint8_t id[20];
        CK_ULONG n = 0, len = sizeof(sig);
        int msg_len = snprintf((char *)msg, sizeof(msg), "thread %d round %d", w->index, round);
        CK_MECHANISM m = {rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256, NULL, 0};
        p11->C_GetSlotList(CK_FALSE, NULL, &n); /* rescans while the store changes */
        test_primary_id(w->session, id);
        CK_OBJECT_HANDLE key = test_find(w->session, CKO_PRIVATE_KEY, id, 20);
        CK_RV rv = p11->C_SignInit(w->session, &m, key);
        if (rv == CKR_OK)
            rv = p11->C_Sign(w->session, msg, (CK_ULONG)msg_len, sig, &len);
        int ok = rv == CKR_OK && (rsa ? verify_rsa(pub, sig, len, msg, (size_t)msg_len)
                                      : verify_ec(pub, sig, len, msg, (size_t)msg_len));
        if (!ok) {
            snprintf(w->error, sizeof(w->error), "sign: rv 0x%lx", (unsigned long)rv);
            w->failures++;
        } else if (rsa && !round_trip_decrypt(w, pub, key)) {
            w->failures++;
        }
    }
    EVP_PKEY_free(pub);
    return NULL;
}

static void threads_while_importing(void **state)
{
    (void)state;
    /* Every import changes the store, so each token's objects are rebuilt
     * under the running operations.  None of these names a worker's email:
     * the provisioning tool makes a new certificate its account's primary,
     * and a worker signs with its own certificate's key. */
    static const char *const more[] = {"erin", "frank", "grace", "heidi", "ivan", "judy", "oscar",
                                       "partner"};
    worker workers[THREADS];
    pthread_t threads[THREADS];
    test_init();
    for (int i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof(workers[i]));
        workers[i].index = i;
        workers[i].user = users[i % 4];
        workers[i].session = test_session(labels[i % 4], 1);
    }
    pid_t importer = fork();
    assert_true(importer >= 0);
    if (importer == 0) {
        for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
            test_add_users(&more[i], 1);
        _exit(0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    int status = 0;
    assert_int_equal(waitpid(importer, &status, 0), importer);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < THREADS; i++) {
        if (workers[i].failures)
            fprintf(stderr, "thread %d (%s): %s\n", i, workers[i].user, workers[i].error);
        assert_int_equal(workers[i].failures, 0);
    }
    /* every imported account is there now */
    CK_ULONG n = 0;
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 12);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(threads_while_importing)};
    return cmocka_run_group_tests(tests, setup, test_teardown_store);
}
