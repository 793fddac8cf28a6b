/* Every entry point with bad arguments, bad handles and wrong states: the
 * right CKR_* each time, no crash (and no leak under ASan). */
#include "support.h"

#include <string.h>

static const char *const users[] = {"alice-old", "alice", "carol", "partner"};

static int setup(void **state)
{
    (void)state;
    test_load_module();
    test_make_store(users, sizeof(users) / sizeof(users[0]));
    return 0;
}

static void before_initialize(void **state)
{
    (void)state;
    CK_INFO info;
    CK_ULONG n = 0;
    CK_SESSION_HANDLE s = 0;
    CK_SLOT_ID slot = 0;
    assert_int_equal(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s),
                     CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_CloseSession(1), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_Login(1, CKU_USER, NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_SignInit(1, NULL, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL),
                     CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static CK_RV create_mutex(CK_VOID_PTR_PTR m)
{
    *m = NULL;
    return CKR_OK;
}

static CK_RV mutex_op(CK_VOID_PTR m)
{
    (void)m;
    return CKR_OK;
}

static void initialize_args(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS args = {0};
    args.CreateMutex = create_mutex;
    assert_int_equal(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD); /* one callback of four */
    args.DestroyMutex = mutex_op;
    args.LockMutex = mutex_op;
    args.UnlockMutex = mutex_op;
    assert_int_equal(p11->C_Initialize(&args), CKR_CANT_LOCK); /* callbacks only */
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    int reserved = 0;
    assert_int_equal(p11->C_Finalize(&reserved), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    /* a reserved string that is not a valid filter */
    CK_C_INITIALIZE_ARGS bad = {.pReserved = "kind=sideways"};
    assert_int_equal(p11->C_Initialize(&bad), CKR_ARGUMENTS_BAD);
    /* NSS-style words are ignored */
    CK_C_INITIALIZE_ARGS nss = {.pReserved = "configdir='sql:/tmp' flags=readOnly"};
    assert_int_equal(p11->C_Initialize(&nss), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void info_and_interfaces(void **state)
{
    (void)state;
    CK_INFO info;
    CK_ULONG n = 0;
    CK_INTERFACE list[4];
    CK_INTERFACE_PTR iface = NULL;
    CK_VERSION v240 = {2, 40}, v99 = {9, 9};
    test_init();
    assert_int_equal(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 3);
    assert_memory_equal(info.manufacturerID, "mailtoken ", 10);
    assert_int_equal(p11_3->C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11_3->C_GetInterfaceList(NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    n = 1;
    assert_int_equal(p11_3->C_GetInterfaceList(list, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(p11_3->C_GetInterfaceList(list, &n), CKR_OK);
    assert_string_equal((char *)list[0].pInterfaceName, "PKCS 11");
    assert_int_equal(p11_3->C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11_3->C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &iface, 0), CKR_OK);
    assert_int_equal(((CK_VERSION *)iface->pFunctionList)->minor, 40);
    assert_int_equal(p11_3->C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v99, &iface, 0),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11_3->C_GetInterface((CK_UTF8CHAR_PTR) "Vendor", NULL, &iface, 0),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11_3->C_GetInterface(NULL, NULL, &iface, CKF_INTERFACE_FORK_SAFE), CKR_OK);
    /* the 3.0 table ends with the message functions, all answering */
    assert_int_equal(p11_3->C_MessageVerifyFinal(1), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void slots_and_tokens(void **state)
{
    (void)state;
    CK_SLOT_ID slots[8];
    CK_ULONG n = 0;
    CK_SLOT_INFO sinfo;
    CK_TOKEN_INFO tinfo;
    CK_MECHANISM_INFO minfo;
    CK_MECHANISM_TYPE mechs[64];
    test_init();
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 3);
    n = 1;
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 3);
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++)
        assert_true(slots[i] > 0 && slots[i] <= 0x7fffffff);
    assert_int_equal(p11->C_GetSlotInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetSlotInfo(987654, &sinfo), CKR_SLOT_ID_INVALID);
    assert_int_equal(p11->C_GetSlotInfo(slots[0], &sinfo), CKR_OK);
    assert_int_equal(sinfo.flags, CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE);
    assert_int_equal(p11->C_GetTokenInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetTokenInfo(987654, &tinfo), CKR_SLOT_ID_INVALID);
    assert_int_equal(p11->C_InitToken(slots[0], (CK_UTF8CHAR_PTR) "x", 1, tinfo.label),
                     CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_GetMechanismList(slots[0], NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetMechanismList(987654, NULL, &n), CKR_SLOT_ID_INVALID);
    assert_int_equal(p11->C_GetMechanismList(slots[0], NULL, &n), CKR_OK);
    assert_true(n >= 25 && n <= 64);
    CK_ULONG small = 2;
    assert_int_equal(p11->C_GetMechanismList(slots[0], mechs, &small), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(small, n);
    assert_int_equal(p11->C_GetMechanismInfo(slots[0], CKM_RSA_PKCS, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetMechanismInfo(slots[0], CKM_DES3_CBC, &minfo), CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_GetMechanismInfo(slots[0], CKM_RSA_PKCS_OAEP, &minfo), CKR_OK);
    assert_true(minfo.flags & CKF_DECRYPT);
    assert_false(minfo.flags & CKF_SIGN);
    assert_int_equal(p11->C_GetMechanismInfo(slots[0], CKM_ECDSA_SHA256, &minfo), CKR_OK);
    assert_int_equal(minfo.ulMinKeySize, 256);
    assert_int_equal(minfo.ulMaxKeySize, 521);
    CK_SLOT_ID event;
    assert_int_equal(p11->C_WaitForSlotEvent(0, &event, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL), CKR_NO_EVENT);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

/* Every session function on a handle that never existed and on a closed one. */
static void check_session_invalid(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO info;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_BYTE buf[64];
    CK_ULONG len = sizeof(buf);
    CK_OBJECT_HANDLE o;
    CK_ATTRIBUTE a = {CKA_CLASS, buf, sizeof(CK_ULONG)};
    const CK_RV bad = CKR_SESSION_HANDLE_INVALID;
    assert_int_equal(p11->C_CloseSession(h), bad);
    assert_int_equal(p11->C_GetSessionInfo(h, &info), bad);
    assert_int_equal(p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "x", 1), bad);
    assert_int_equal(p11->C_Logout(h), bad);
    assert_int_equal(p11->C_InitPIN(h, (CK_UTF8CHAR_PTR) "x", 1), bad);
    assert_int_equal(p11->C_SetPIN(h, buf, 1, buf, 1), bad);
    assert_int_equal(p11->C_FindObjectsInit(h, NULL, 0), bad);
    assert_int_equal(p11->C_FindObjects(h, &o, 1, &len), bad);
    assert_int_equal(p11->C_FindObjectsFinal(h), bad);
    assert_int_equal(p11->C_GetAttributeValue(h, 1, &a, 1), bad);
    assert_int_equal(p11->C_GetObjectSize(h, 1, &len), bad);
    assert_int_equal(p11->C_SetAttributeValue(h, 1, &a, 1), bad);
    assert_int_equal(p11->C_CreateObject(h, &a, 1, &o), bad);
    assert_int_equal(p11->C_DestroyObject(h, 1), bad);
    assert_int_equal(p11->C_DigestInit(h, &m), bad);
    assert_int_equal(p11->C_Digest(h, buf, 1, buf, &len), bad);
    assert_int_equal(p11->C_DigestUpdate(h, buf, 1), bad);
    assert_int_equal(p11->C_DigestKey(h, 1), bad);
    assert_int_equal(p11->C_DigestFinal(h, buf, &len), bad);
    assert_int_equal(p11->C_SignInit(h, &m, 1), bad);
    assert_int_equal(p11->C_Sign(h, buf, 1, buf, &len), bad);
    assert_int_equal(p11->C_SignUpdate(h, buf, 1), bad);
    assert_int_equal(p11->C_SignFinal(h, buf, &len), bad);
    assert_int_equal(p11->C_VerifyInit(h, &m, 1), bad);
    assert_int_equal(p11->C_Verify(h, buf, 1, buf, 1), bad);
    assert_int_equal(p11->C_VerifyUpdate(h, buf, 1), bad);
    assert_int_equal(p11->C_VerifyFinal(h, buf, 1), bad);
    assert_int_equal(p11->C_EncryptInit(h, &m, 1), bad);
    assert_int_equal(p11->C_Encrypt(h, buf, 1, buf, &len), bad);
    assert_int_equal(p11->C_EncryptUpdate(h, buf, 1, buf, &len), bad);
    assert_int_equal(p11->C_EncryptFinal(h, buf, &len), bad);
    assert_int_equal(p11->C_DecryptInit(h, &m, 1), bad);
    assert_int_equal(p11->C_Decrypt(h, buf, 1, buf, &len), bad);
    assert_int_equal(p11->C_DecryptUpdate(h, buf, 1, buf, &len), bad);
    assert_int_equal(p11->C_DecryptFinal(h, buf, &len), bad);
    assert_int_equal(p11->C_DeriveKey(h, &m, 1, &a, 1, &o), bad);
    assert_int_equal(p11->C_UnwrapKey(h, &m, 1, buf, 1, &a, 1, &o), bad);
    assert_int_equal(p11->C_GenerateKey(h, &m, &a, 1, &o), bad);
    assert_int_equal(p11->C_GenerateRandom(h, buf, 1), bad);
    assert_int_equal(p11->C_SeedRandom(h, buf, 1), bad);
    assert_int_equal(p11_3->C_SessionCancel(h, CKF_SIGN), bad);
}

static void sessions(void **state)
{
    (void)state;
    CK_SESSION_HANDLE s = 0, rw = 0;
    CK_SESSION_INFO info;
    test_init();
    CK_SLOT_ID slot = test_slot("alice@example.org");
    assert_int_equal(p11->C_OpenSession(slot, 0, NULL, NULL, &s),
                     CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_OpenSession(987654, CKF_SERIAL_SESSION, NULL, NULL, &s),
                     CKR_SLOT_ID_INVALID);
    check_session_invalid(0);
    check_session_invalid(424242);
    /* application callbacks are accepted */
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, &s, NULL, &s), CKR_OK);
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw),
                     CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(s, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetSessionInfo(s, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(info.slotID, slot);
    assert_int_equal(p11->C_GetSessionInfo(rw, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_PUBLIC_SESSION);
    assert_int_equal(p11->C_GetOperationState(s, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_CloseSession(s), CKR_OK);
    check_session_invalid(s);
    assert_int_equal(p11->C_CloseAllSessions(987654), CKR_SLOT_ID_INVALID);
    assert_int_equal(p11->C_CloseAllSessions(slot), CKR_OK);
    check_session_invalid(rw);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void login(void **state)
{
    (void)state;
    CK_SESSION_INFO info;
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 0);
    CK_SESSION_HANDLE s2 = test_session("alice@example.org", 0);
    CK_UTF8CHAR_PTR pin = (CK_UTF8CHAR_PTR)TEST_PIN;
    assert_int_equal(p11->C_Login(s, 77, pin, strlen(TEST_PIN)), CKR_USER_TYPE_INVALID);
    assert_int_equal(p11->C_Login(s, CKU_USER, NULL, 5), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "wrong-pin-999", 13),
                     CKR_PIN_INCORRECT);
    assert_int_equal(p11->C_Logout(s), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p11->C_Login(s, CKU_CONTEXT_SPECIFIC, pin, strlen(TEST_PIN)),
                     CKR_USER_NOT_LOGGED_IN);
    /* SO login needs every session read/write */
    assert_int_equal(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)TEST_SO_PIN, strlen(TEST_SO_PIN)),
                     CKR_SESSION_READ_ONLY_EXISTS);
    assert_int_equal(p11->C_Login(s, CKU_USER, pin, strlen(TEST_PIN)), CKR_OK);
    /* the failed attempt shows in the token flags until a success clears it */
    CK_TOKEN_INFO tinfo;
    assert_int_equal(p11->C_GetTokenInfo(test_slot("alice@example.org"), &tinfo), CKR_OK);
    assert_false(tinfo.flags & CKF_USER_PIN_COUNT_LOW);
    /* login is per token for the whole application */
    assert_int_equal(p11->C_GetSessionInfo(s2, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_USER_FUNCTIONS);
    assert_int_equal(p11->C_Login(s2, CKU_USER, pin, strlen(TEST_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(p11->C_Login(s2, CKU_SO, pin, strlen(TEST_PIN)),
                     CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(p11->C_Login(s2, CKU_CONTEXT_SPECIFIC, pin, strlen(TEST_PIN)),
                     CKR_OPERATION_NOT_INITIALIZED);
    /* a private key is visible, then gone at logout */
    assert_int_not_equal(test_find(s, CKO_PRIVATE_KEY, NULL, 0), CK_INVALID_HANDLE);
    assert_int_equal(p11->C_Logout(s2), CKR_OK);
    assert_int_equal(test_find(s, CKO_PRIVATE_KEY, NULL, 0), CK_INVALID_HANDLE);
    /* C_InitPIN needs the SO; C_SetPIN a read/write session */
    assert_int_equal(p11->C_InitPIN(s, pin, strlen(TEST_PIN)), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p11->C_SetPIN(s, pin, strlen(TEST_PIN), pin, strlen(TEST_PIN)),
                     CKR_SESSION_READ_ONLY);
    /* closing the last session logs out */
    assert_int_equal(p11->C_Login(s, CKU_USER, pin, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(p11->C_CloseSession(s), CKR_OK);
    assert_int_equal(p11->C_CloseSession(s2), CKR_OK);
    s = test_session("alice@example.org", 0);
    assert_int_equal(p11->C_GetSessionInfo(s, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void pin_changes(void **state)
{
    (void)state;
    CK_SESSION_HANDLE rw;
    const char *new_pin = "changed-pin-456";
    test_init();
    CK_SLOT_ID slot = test_slot("carol@example.org");
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw),
                     CKR_OK);
    /* C_SetPIN with the old PIN */
    assert_int_equal(p11->C_SetPIN(rw, (CK_UTF8CHAR_PTR) "wrong-pin-999", 13,
                                   (CK_UTF8CHAR_PTR)new_pin, strlen(new_pin)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(p11->C_SetPIN(rw, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN),
                                   (CK_UTF8CHAR_PTR) "short", 5),
                     CKR_PIN_LEN_RANGE);
    assert_int_equal(p11->C_SetPIN(rw, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN),
                                   (CK_UTF8CHAR_PTR)new_pin, strlen(new_pin)),
                     CKR_OK);
    assert_int_equal(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)new_pin, strlen(new_pin)), CKR_OK);
    assert_int_equal(p11->C_Logout(rw), CKR_OK);
    /* the SO resets it with C_InitPIN */
    assert_int_equal(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR) "wrong-so-999", 12),
                     CKR_PIN_INCORRECT);
    assert_int_equal(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)TEST_SO_PIN, strlen(TEST_SO_PIN)),
                     CKR_OK);
    CK_SESSION_HANDLE ro;
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro),
                     CKR_SESSION_READ_WRITE_SO_EXISTS);
    assert_int_equal(p11->C_InitPIN(rw, NULL, 3), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_InitPIN(rw, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(p11->C_Logout(rw), CKR_OK);
    assert_int_equal(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void writes_refused(void **state)
{
    (void)state;
    CK_OBJECT_CLASS klass = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl = {CKA_CLASS, &klass, sizeof(klass)};
    CK_ATTRIBUTE token_object[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_TOKEN, &yes, 1}};
    CK_OBJECT_HANDLE o;
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    CK_OBJECT_HANDLE cert = test_find(s, CKO_CERTIFICATE, NULL, 0);
    assert_int_equal(p11->C_CreateObject(s, &tmpl, 1, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_CreateObject(s, NULL, 1, &o), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_CreateObject(s, token_object, 2, &o), CKR_TOKEN_WRITE_PROTECTED);
    /* a session object, but not one the token makes: only secret keys */
    assert_int_equal(p11->C_CreateObject(s, &tmpl, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(p11->C_SetAttributeValue(s, cert, &tmpl, 1), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_SetAttributeValue(s, 0xdead, &tmpl, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p11->C_DestroyObject(s, cert), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_DestroyObject(s, 0xdead), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p11->C_CopyObject(s, cert, NULL, 0, &o), CKR_ACTION_PROHIBITED);
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE pub, priv;
    assert_int_equal(p11->C_GenerateKeyPair(s, &gen, NULL, 0, NULL, 0, &pub, &priv),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_GenerateKeyPair(s, NULL, NULL, 0, NULL, 0, &pub, &priv),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void find_states(void **state)
{
    (void)state;
    CK_OBJECT_HANDLE found[16];
    CK_ULONG n = 0;
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 0);
    assert_int_equal(p11->C_FindObjects(s, found, 16, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_FindObjectsInit(s, NULL, 2), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_FindObjectsInit(s, NULL, 0), CKR_OK);
    assert_int_equal(p11->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_FindObjects(s, NULL, 1, &n), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_FindObjects(s, found, 16, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_FindObjects(s, found, 0, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(p11->C_FindObjects(s, found, 16, &n), CKR_OK);
    /* profile, 2 certificates, 2 public keys, 2 chain certificates: no private key */
    assert_int_equal(n, 7);
    assert_int_equal(p11->C_FindObjects(s, found, 16, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    /* a template attribute no object has matches nothing; a wrong-size value too */
    CK_ULONG klass = CKO_CERTIFICATE;
    CK_ATTRIBUTE odd[] = {{CKA_CLASS, &klass, 3}};
    assert_int_equal(p11->C_FindObjectsInit(s, odd, 1), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, found, 16, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(before_initialize), cmocka_unit_test(initialize_args),
        cmocka_unit_test(info_and_interfaces), cmocka_unit_test(slots_and_tokens),
        cmocka_unit_test(sessions), cmocka_unit_test(login),
        cmocka_unit_test(pin_changes), cmocka_unit_test(writes_refused),
        cmocka_unit_test(find_states),
    };
    return cmocka_run_group_tests(tests, setup, test_teardown_store);
}
