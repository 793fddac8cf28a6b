/* A forked child starts clean: the parent's sessions and login are not its
 * own, its C_Initialize works, its C_Finalize harms nothing in the parent. */
#include "support.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const users[] = {"alice", "carol"};

static int setup(void **state)
{
    (void)state;
    test_load_module();
    test_make_store(users, 2);
    return 0;
}

static CK_RV sign_once(CK_SESSION_HANDLE s)
{
    uint8_t id[20], sig[512];
    CK_ULONG len = sizeof(sig);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    test_primary_id(s, id);
    CK_RV rv = p11->C_SignInit(s, &m, test_find(s, CKO_PRIVATE_KEY, id, 20));
    if (rv == CKR_OK)
        rv = p11->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &len);
    return rv;
}

/* Runs in the child: returns the number of the first check that failed. */
static int child_starts_over(CK_SESSION_HANDLE parent_session)
{
    CK_ULONG n = 0;
    CK_SESSION_HANDLE s;
    CK_SESSION_INFO info;
    if (p11->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 1;
    if (p11->C_SignInit(parent_session, NULL, 0) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 2;
    if (p11->C_Initialize(NULL) != CKR_OK)
        return 3;
    if (p11->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n != 2)
        return 4;
    if (p11->C_GetSessionInfo(parent_session, &info) != CKR_SESSION_HANDLE_INVALID)
        return 5;
    s = test_session("alice@example.org", 0);
    if (p11->C_GetSessionInfo(s, &info) != CKR_OK || info.state != CKS_RO_PUBLIC_SESSION)
        return 6; /* the parent's login is not the child's */
    if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)) != CKR_OK)
        return 7;
    if (sign_once(s) != CKR_OK)
        return 8;
    if (p11->C_Finalize(NULL) != CKR_OK)
        return 9;
    return 0;
}

static int wait_child(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void fork_child_starts_clean(void **state)
{
    (void)state;
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    assert_int_equal(sign_once(s), CKR_OK);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_starts_over(s));
    assert_int_equal(wait_child(pid), 0);

    /* a child that only finalizes */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(p11->C_Finalize(NULL) == CKR_OK ? 0 : 1);
    assert_int_equal(wait_child(pid), 0);

    /* the parent carries on: same session, still logged in */
    CK_SESSION_INFO info;
    assert_int_equal(p11->C_GetSessionInfo(s, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_USER_FUNCTIONS);
    assert_int_equal(sign_once(s), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

/* One of alice's RSA primes as OpenSSL holds it in memory (its limbs, least
 * significant first), known to the search only masked and hashed: the
 * search itself never holds the prime. */
typedef struct needle {
    uint8_t mask[16], masked[16];
    uint8_t digest[SHA256_DIGEST_LENGTH];
    size_t len;
} needle;

static void alice_prime(needle *n)
{
    uint8_t bytes[512];
    BIGNUM *p = NULL;
    FILE *f = fopen(test_data("users/alice.key"), "r");
    assert_non_null(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(key);
    assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, &p), 1);
    n->len = (size_t)BN_num_bytes(p);
    assert_true(n->len >= 64 && n->len <= sizeof(bytes) && n->len % 8 == 0);
    assert_int_equal(BN_bn2lebinpad(p, bytes, (int)n->len), (int)n->len);
    assert_int_equal(RAND_bytes(n->mask, sizeof(n->mask)), 1);
    for (size_t i = 0; i < sizeof(n->mask); i++)
        n->masked[i] = bytes[i] ^ n->mask[i];
    SHA256(bytes, n->len, n->digest);
    OPENSSL_cleanse(bytes, sizeof(bytes));
    BN_clear_free(p);
    EVP_PKEY_free(key);
}

/* Whether the prime is anywhere in this process's readable, writable memory
 * (the heaps, stacks and data; the reservations of a gigabyte and more are
 * AddressSanitizer's shadow, which holds no data and is read without its
 * checks). */
__attribute__((no_sanitize("address"))) static bool memory_holds(const needle *n)
{
    char line[512];
    bool found = false;
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    while (!found && fgets(line, sizeof(line), maps)) {
        unsigned long start = 0, end = 0;
        char perms[5] = "";
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3 || perms[0] != 'r' ||
            perms[1] != 'w' || strstr(line, "[vvar]") || strstr(line, "[vsyscall]") ||
            end - start >= (1ul << 30))
            continue;
        const uint8_t *mem = (const uint8_t *)start;
        for (size_t i = 0; !found && i + n->len <= end - start; i += 8) { /* limbs are aligned */
            if ((mem[i] ^ n->mask[0]) != n->masked[0])
                continue;
            bool prefix = true;
            for (size_t k = 1; k < sizeof(n->mask) && prefix; k++)
                prefix = (mem[i + k] ^ n->mask[k]) == n->masked[k];
            uint8_t digest[SHA256_DIGEST_LENGTH];
            found = prefix && SHA256(mem + i, n->len, digest) && !memcmp(digest, n->digest, sizeof(digest));
        }
    }
    fclose(maps);
    return found;
}

/* The parent signed with alice's key: the prime is in its memory; the child
 * of a fork, before it does anything, no longer holds it. */
static void fork_child_wipes_opened_keys(void **state)
{
    (void)state;
    needle n;
    alice_prime(&n);
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    assert_int_equal(sign_once(s), CKR_OK);
    assert_true(memory_holds(&n)); /* the search finds what it looks for */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(memory_holds(&n) ? 1 : 0);
    assert_int_equal(wait_child(pid), 0);
    assert_int_equal(sign_once(s), CKR_OK); /* the parent's key is untouched */
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(fork_child_starts_clean),
                                       cmocka_unit_test(fork_child_wipes_opened_keys)};
    return cmocka_run_group_tests(tests, setup, test_teardown_store);
}
