/* Slots follow the store while a client runs: new accounts appear, deleted
 * ones leave a slot with no token, a renewal changes the objects; filters
 * from C_Initialize; the failed-PIN counter (C_Login and C_SetPIN) survives a
 * restart; a key sealed for another certificate is refused; a store key
 * file others may read keeps the store shut, said only in the trace. */
#include "support.h"

#include "mailtoken/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    test_load_module();
    return 0;
}

static int make_store(void **state)
{
    (void)state;
    static const char *const users[] = {"alice-old", "bob"};
    test_make_store(users, 2);
    return 0;
}

static int remove_store(void **state)
{
    (void)state;
    p11->C_Finalize(NULL);
    test_remove_store();
    return 0;
}

static CK_ULONG slot_count(CK_BBOOL present)
{
    CK_ULONG n = 0;
    assert_int_equal(p11->C_GetSlotList(present, NULL, &n), CKR_OK);
    return n;
}

static void delete_account(const char *email)
{
    mt_store *store = NULL;
    mt_org *org = NULL;
    assert_int_equal(mt_store_open(test_store, NULL, 0, &store), MT_OK);
    assert_int_equal(mt_store_org_find(store, NULL, &org), MT_OK);
    assert_int_equal(mt_store_account_delete(store, org->id, email, false), MT_OK);
    mt_org_free(org);
    mt_store_close(store);
    test_store_settle();
}

static void accounts_come_and_go(void **state)
{
    (void)state;
    CK_SLOT_ID event = 0;
    test_init();
    assert_int_equal(slot_count(CK_TRUE), 2);
    CK_SLOT_ID bob = test_slot("bob@example.org");
    CK_SESSION_HANDLE bob_session = test_session("bob@example.org", 1);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL), CKR_NO_EVENT);

    static const char *const carol[] = {"carol"};
    test_add_users(carol, 1);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL), CKR_OK);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL), CKR_NO_EVENT);
    assert_int_equal(slot_count(CK_TRUE), 3);
    assert_int_equal(event, test_slot("carol@example.org"));

    delete_account("bob@example.org");
    assert_int_equal(slot_count(CK_FALSE), 3); /* the list never shrinks */
    assert_int_equal(slot_count(CK_TRUE), 2);
    CK_SLOT_INFO info;
    CK_TOKEN_INFO tinfo;
    CK_SESSION_HANDLE s;
    assert_int_equal(p11->C_GetSlotInfo(bob, &info), CKR_OK);
    assert_int_equal(info.flags, CKF_REMOVABLE_DEVICE);
    assert_int_equal(p11->C_GetTokenInfo(bob, &tinfo), CKR_TOKEN_NOT_PRESENT);
    assert_int_equal(p11->C_OpenSession(bob, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_TOKEN_NOT_PRESENT);
    assert_int_equal(p11->C_GetSessionInfo(bob_session, &(CK_SESSION_INFO){0}),
                     CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL), CKR_OK);
    assert_int_equal(event, bob);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static CK_ULONG count_objects(CK_SESSION_HANDLE s, CK_OBJECT_CLASS klass)
{
    CK_OBJECT_HANDLE found[32];
    CK_ULONG n = 0;
    CK_ATTRIBUTE t = {CKA_CLASS, &klass, sizeof(klass)};
    assert_int_equal(p11->C_FindObjectsInit(s, &t, 1), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, found, 32, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    return n;
}

static int signs(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
    CK_BBOOL sign = CK_FALSE;
    CK_ATTRIBUTE a = {CKA_SIGN, &sign, sizeof(sign)};
    assert_int_equal(p11->C_GetAttributeValue(s, key, &a, 1), CKR_OK);
    return sign == CK_TRUE;
}

/* A renewal while the client runs: the new certificate is primary and signs,
 * the old key stays for decryption; the login survives. */
static void renewal_while_running(void **state)
{
    (void)state;
    uint8_t old_id[20], new_id[20];
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    test_primary_id(s, old_id);
    assert_int_equal(count_objects(s, CKO_PRIVATE_KEY), 1);
    assert_true(signs(s, test_find(s, CKO_PRIVATE_KEY, old_id, 20)));

    static const char *const renewed[] = {"alice"};
    test_add_users(renewed, 1);
    assert_int_equal(count_objects(s, CKO_PRIVATE_KEY), 2);
    assert_int_equal(count_objects(s, CKO_CERTIFICATE), 4);
    test_primary_id(s, new_id);
    assert_memory_not_equal(old_id, new_id, 20);
    assert_true(signs(s, test_find(s, CKO_PRIVATE_KEY, new_id, 20)));
    assert_false(signs(s, test_find(s, CKO_PRIVATE_KEY, old_id, 20)));
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[256];
    CK_ULONG len = sizeof(sig);
    assert_int_equal(p11->C_SignInit(s, &m, test_find(s, CKO_PRIVATE_KEY, new_id, 20)), CKR_OK);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR) "x", 1, sig, &len), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void initialize_filters(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = "emails=bob@*"};
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(slot_count(CK_FALSE), 1);
    test_slot("bob@example.org");
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    /* NSS passes its module parameters: our words are picked out of them */
    args.pReserved = "configdir='sql:/x' accounts='kind=internal;emails=alice@*' flags=readOnly";
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(slot_count(CK_FALSE), 1);
    test_slot("alice@example.org");
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    /* the environment narrows further */
    setenv("MAILTOKEN_ACCOUNTS", "emails=carol@*", 1);
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(slot_count(CK_FALSE), 0);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    unsetenv("MAILTOKEN_ACCOUNTS");
}

/* The whole of a small file, as a string the caller frees ("" when missing). */
static char *slurp(const char *path)
{
    char *text = calloc(1, 4096);
    assert_non_null(text);
    FILE *f = fopen(path, "r");
    if (f) {
        assert_true(fread(text, 1, 4095, f) < 4095);
        fclose(f);
    }
    return text;
}

/* A store key file that others may read keeps the store shut: C_Initialize
 * fails with CKR_GENERAL_ERROR (docs/pkcs11.md), and why is said in the trace
 * (MAILTOKEN_DEBUG), never on the client's stderr. */
static void loose_store_key_file(void **state)
{
    (void)state;
    char key[400], conf_text[600], trace[400], err[400];
    snprintf(key, sizeof(key), "%s/store.key", test_dir);
    snprintf(trace, sizeof(trace), "%s/trace", test_dir);
    snprintf(err, sizeof(err), "%s/stderr", test_dir);
    FILE *f = fopen(key, "w");
    assert_non_null(f);
    fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
    fclose(f);
    assert_int_equal(chmod(key, 0644), 0);
    snprintf(conf_text, sizeof(conf_text), "%sstore_key_file = %s\n", TEST_FAST_KDF_CONF, key);
    f = fopen(getenv("MAILTOKEN_CONF"), "w");
    assert_non_null(f);
    fputs(conf_text, f);
    fclose(f);

    setenv("MAILTOKEN_DEBUG", trace, 1);
    fflush(stderr);
    int saved = dup(STDERR_FILENO), fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    CK_RV rv = p11->C_Initialize(NULL);
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    close(saved);
    unsetenv("MAILTOKEN_DEBUG");
    assert_int_equal(rv, CKR_GENERAL_ERROR);

    char *said = slurp(err), *traced = slurp(trace);
    assert_string_equal(said, "");
    assert_non_null(strstr(traced, "cannot open the store"));
    assert_non_null(strstr(traced, "store.key: must not be accessible by group or others (mode 0644)"));
    free(said);
    free(traced);
    /* the same key file, 0600: the store opens */
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static int make_store_3_tries(void **state)
{
    test_provision_options = "--max-failures 3";
    make_store(state);
    test_provision_options = "";
    return 0;
}

static void pin_lockout(void **state)
{
    (void)state;
    test_init();
    CK_SESSION_HANDLE s = test_session("bob@example.org", 0);
    CK_UTF8CHAR_PTR wrong = (CK_UTF8CHAR_PTR) "wrong-pin-999";
    assert_int_equal(p11->C_Login(s, CKU_USER, wrong, 13), CKR_PIN_INCORRECT);
    CK_TOKEN_INFO info;
    assert_int_equal(p11->C_GetTokenInfo(test_slot("bob@example.org"), &info), CKR_OK);
    assert_true(info.flags & CKF_USER_PIN_COUNT_LOW);
    CK_RV rv = p11->C_Login(s, CKU_USER, wrong, 13);
    assert_int_equal(rv, CKR_PIN_INCORRECT);
    assert_int_equal(p11->C_GetTokenInfo(test_slot("bob@example.org"), &info), CKR_OK);
    assert_true(info.flags & CKF_USER_PIN_FINAL_TRY);
    rv = p11->C_Login(s, CKU_USER, wrong, 13);
    assert_true(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
    /* locked: the right PIN no longer opens it, even after a restart */
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    test_init();
    s = test_session("bob@example.org", 0);
    assert_int_equal(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)),
                     CKR_PIN_LOCKED);
    assert_int_equal(p11->C_GetTokenInfo(test_slot("bob@example.org"), &info), CKR_OK);
    assert_true(info.flags & CKF_USER_PIN_LOCKED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static CK_FLAGS pin_flags(const char *label)
{
    CK_TOKEN_INFO info;
    assert_int_equal(p11->C_GetTokenInfo(test_slot(label), &info), CKR_OK);
    return info.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
}

/* C_SetPIN with a wrong current PIN counts as a failed login (3 allowed
 * here): the token flags follow, and the token locks as for C_Login. */
static void set_pin_wrong_current_counts(void **state)
{
    (void)state;
    CK_SESSION_HANDLE rw;
    CK_UTF8CHAR_PTR wrong = (CK_UTF8CHAR_PTR) "wrong-pin-999", next = (CK_UTF8CHAR_PTR) "next-pin-456";
    test_init();
    assert_int_equal(p11->C_OpenSession(test_slot("bob@example.org"), CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                        NULL, NULL, &rw),
                     CKR_OK);
    assert_int_equal(pin_flags("bob@example.org"), 0);
    assert_int_equal(p11->C_SetPIN(rw, wrong, 13, next, 12), CKR_PIN_INCORRECT);
    assert_int_equal(pin_flags("bob@example.org"), CKF_USER_PIN_COUNT_LOW);
    assert_int_equal(p11->C_SetPIN(rw, wrong, 13, next, 12), CKR_PIN_INCORRECT);
    assert_true(pin_flags("bob@example.org") & CKF_USER_PIN_FINAL_TRY);
    CK_RV rv = p11->C_SetPIN(rw, wrong, 13, next, 12);
    assert_true(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
    assert_true(pin_flags("bob@example.org") & CKF_USER_PIN_LOCKED);
    /* the right PIN no longer changes it, nor logs in */
    assert_int_equal(p11->C_SetPIN(rw, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN), next, 12),
                     CKR_PIN_LOCKED);
    assert_int_equal(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)),
                     CKR_PIN_LOCKED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static int make_store_no_pins(void **state)
{
    test_provision_options = "--pin -";
    make_store(state);
    test_provision_options = "";
    return 0;
}

/* Right after an import no user PIN is set: the token says so, logging in
 * and changing the PIN are CKR_USER_PIN_NOT_INITIALIZED (no failure
 * counted), until the SO sets the first PIN with C_InitPIN. */
static void pin_not_initialized(void **state)
{
    (void)state;
    CK_SESSION_HANDLE rw;
    CK_TOKEN_INFO info;
    CK_UTF8CHAR_PTR pin = (CK_UTF8CHAR_PTR)TEST_PIN;
    test_init();
    CK_SLOT_ID slot = test_slot("bob@example.org");
    assert_int_equal(p11->C_GetTokenInfo(slot, &info), CKR_OK);
    assert_false(info.flags & CKF_USER_PIN_INITIALIZED);
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw),
                     CKR_OK);
    assert_int_equal(p11->C_Login(rw, CKU_USER, pin, strlen(TEST_PIN)), CKR_USER_PIN_NOT_INITIALIZED);
    assert_int_equal(p11->C_SetPIN(rw, pin, strlen(TEST_PIN), (CK_UTF8CHAR_PTR) "next-pin-456", 12),
                     CKR_USER_PIN_NOT_INITIALIZED);
    assert_int_equal(pin_flags("bob@example.org"), 0);
    assert_int_equal(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)TEST_SO_PIN, strlen(TEST_SO_PIN)),
                     CKR_OK);
    assert_int_equal(p11->C_InitPIN(rw, pin, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(p11->C_Logout(rw), CKR_OK);
    assert_int_equal(p11->C_GetTokenInfo(slot, &info), CKR_OK);
    assert_true(info.flags & CKF_USER_PIN_INITIALIZED);
    assert_int_equal(p11->C_Login(rw, CKU_USER, pin, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static int make_store_history(void **state)
{
    (void)state;
    static const char *const users[] = {"alice-old", "alice"};
    test_make_store(users, 2);
    return 0;
}

static void store_sql(const char *sql)
{
    char cmd[1024];
    if (test_schema[0]) {
        test_server_sql(test_store, sql);
        return;
    }
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\"", test_store, sql);
    unsetenv("LD_PRELOAD");
    assert_int_equal(system(cmd), 0);
}

/* The private key of the given usage (CKA_SIGN true: the primary's). */
static CK_OBJECT_HANDLE private_key(CK_SESSION_HANDLE s, CK_BBOOL signs)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_SIGN, &signs, sizeof(signs)}};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    assert_int_equal(p11->C_FindObjectsInit(s, tmpl, 2), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, &key, 1, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(n, 1);
    return key;
}

/* A sealed key that opens with the token secret but was sealed for the
 * account's other certificate is never used as this one's key: the
 * operation fails with CKR_DEVICE_ERROR; the other key still works. */
static void key_sealed_for_another_certificate(void **state)
{
    (void)state;
    store_sql("UPDATE sealed_keys SET sealed = (SELECT s.sealed FROM sealed_keys s"
              " JOIN accounts a ON a.token_id = s.token_id WHERE s.cert_id != a.primary_cert_id)"
              " WHERE cert_id = (SELECT primary_cert_id FROM accounts)");
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    CK_MECHANISM sign = {CKM_SHA256_RSA_PKCS, NULL, 0}, decrypt = {CKM_RSA_PKCS, NULL, 0};
    CK_OBJECT_HANDLE primary = private_key(s, CK_TRUE), old = private_key(s, CK_FALSE);
    assert_int_equal(p11->C_SignInit(s, &sign, primary), CKR_DEVICE_ERROR);
    assert_int_equal(p11->C_DecryptInit(s, &decrypt, primary), CKR_DEVICE_ERROR);
    assert_int_equal(p11->C_DecryptInit(s, &decrypt, old), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(accounts_come_and_go, make_store, remove_store),
        cmocka_unit_test_setup_teardown(renewal_while_running, make_store, remove_store),
        cmocka_unit_test_setup_teardown(initialize_filters, make_store, remove_store),
        cmocka_unit_test_setup_teardown(loose_store_key_file, make_store, remove_store),
        cmocka_unit_test_setup_teardown(pin_lockout, make_store_3_tries, remove_store),
        cmocka_unit_test_setup_teardown(set_pin_wrong_current_counts, make_store_3_tries, remove_store),
        cmocka_unit_test_setup_teardown(pin_not_initialized, make_store_no_pins, remove_store),
        cmocka_unit_test_setup_teardown(key_sealed_for_another_certificate, make_store_history,
                                        remove_store),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
