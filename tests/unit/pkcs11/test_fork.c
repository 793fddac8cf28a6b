/* A forked child starts clean: the parent's sessions and login are not its
 * own, its C_Initialize works, its C_Finalize harms nothing in the parent. */
#include "support.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(fork_child_starts_clean)};
    return cmocka_run_group_tests(tests, setup, test_teardown_store);
}
