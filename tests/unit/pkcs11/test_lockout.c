/* The PIN lockout holds: 64 processes guessing at once get exactly
 * pin_max_failures PINs checked, the SO PIN locks too, and a process that
 * cannot write the store's counter (a file it may only read, a server role
 * with SELECT only) gets no uncounted guesses. */
#include "support.h"

#include "mailtoken/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOB "bob@example.org"
#define WRONG_PIN "wrong-guess-000"

static const char *const users[] = {"alice", "bob"};

static int setup(void **state)
{
    (void)state;
    test_load_module();
    return 0;
}

static int make_store(void **state)
{
    (void)state;
    test_make_store(users, 2);
    return 0;
}

static int remove_store(void **state)
{
    (void)state;
    test_remove_store();
    return 0;
}

static void write_config(const char *text)
{
    FILE *f = fopen(getenv("MAILTOKEN_CONF"), "w");
    assert_non_null(f);
    fputs(TEST_FAST_KDF_CONF, f);
    fputs(text, f);
    fclose(f);
}

/* The token's counter and how many events of an action, read through the store. */
static unsigned failed_logins(void)
{
    mt_store *store = NULL;
    mt_token *token = NULL;
    mt_org *org = NULL;
    assert_int_equal(mt_store_open(test_store, NULL, MT_OPEN_READONLY, &store), MT_OK);
    assert_int_equal(mt_store_org_find(store, NULL, &org), MT_OK);
    assert_int_equal(mt_store_token_find(store, org->id, BOB, &token), MT_OK);
    unsigned failed = token->failed_logins;
    mt_token_free(token);
    mt_org_free(org);
    mt_store_close(store);
    return failed;
}

static size_t events(const char *action, const char *actor_prefix)
{
    mt_store *store = NULL;
    mt_event *list = NULL;
    size_t n = 0, found = 0;
    mt_event_query q = {.action = action};
    assert_int_equal(mt_store_open(test_store, NULL, MT_OPEN_READONLY, &store), MT_OK);
    assert_int_equal(mt_store_event_list(store, &q, &list, &n), MT_OK);
    for (size_t i = 0; i < n; i++)
        found += strcmp(list[i].action, action) == 0 &&
                 strncmp(list[i].actor, actor_prefix, strlen(actor_prefix)) == 0;
    mt_event_list_free(list, n);
    mt_store_close(store);
    return found;
}

/* In a child: a session on bob's token without cmocka's asserts (they belong
 * to the parent).  0 when none could be opened. */
static CK_SESSION_HANDLE child_session(CK_FLAGS flags)
{
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CK_SESSION_HANDLE s = 0;
    if (p11->C_Initialize(NULL) != CKR_OK || p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK && memcmp(info.label, BOB " ", 16) == 0 &&
            p11->C_OpenSession(slots[i], flags | CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK)
            return s;
    }
    return 0;
}

enum { GOT_INCORRECT = 1, GOT_LOCKED, GOT_OTHER, NO_SESSION };

static void parallel_logins_never_pass_the_limit(void **state)
{
    (void)state;
    enum { N = 64, MAX = 10 }; /* pin_max_failures, the default */
    pid_t pids[N];
    int go[2];
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            char c;
            close(go[1]);
            CK_SESSION_HANDLE s = child_session(0);
            if (!s)
                _exit(NO_SESSION);
            if (read(go[0], &c, 1) != 0) /* all released at once when the parent closes it */
                _exit(NO_SESSION);
            CK_RV rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)WRONG_PIN, strlen(WRONG_PIN));
            _exit(rv == CKR_PIN_INCORRECT ? GOT_INCORRECT : rv == CKR_PIN_LOCKED ? GOT_LOCKED : GOT_OTHER);
        }
    }
    close(go[0]);
    close(go[1]);
    int got[NO_SESSION + 1] = {0};
    for (int i = 0; i < N; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_in_range(WEXITSTATUS(status), GOT_INCORRECT, NO_SESSION);
        got[WEXITSTATUS(status)]++;
    }
    assert_int_equal(got[NO_SESSION], 0);
    assert_int_equal(got[GOT_OTHER], 0);
    assert_int_equal(got[GOT_INCORRECT], MAX);
    assert_int_equal(got[GOT_LOCKED], N - MAX);
    assert_int_equal(failed_logins(), MAX);
    /* every one audited, naming the client process and its user */
    assert_int_equal(events("token.login-failed", "pkcs11:pid="), MAX);
    assert_int_equal(events("token.locked", "pkcs11:pid="), 1);
    assert_int_equal(events("token.login-refused", "pkcs11:pid="), N - MAX);

    /* locked for good: the right PIN too, and the token says so */
    test_init();
    CK_SESSION_HANDLE s = test_session(BOB, 0);
    assert_int_equal(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)), CKR_PIN_LOCKED);
    CK_TOKEN_INFO info;
    assert_int_equal(p11->C_GetTokenInfo(test_slot(BOB), &info), CKR_OK);
    assert_true(info.flags & CKF_USER_PIN_LOCKED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void so_pin_locks(void **state)
{
    (void)state;
    write_config("so_pin_max_delay = 0\n"); /* ten wrong SO PINs without the wait */
    test_init();
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO info;
    CK_SLOT_ID slot = test_slot(BOB);
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)WRONG_PIN, strlen(WRONG_PIN)),
                         CKR_PIN_INCORRECT);
    assert_int_equal(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)TEST_SO_PIN, strlen(TEST_SO_PIN)),
                     CKR_PIN_LOCKED);
    assert_int_equal(p11->C_GetTokenInfo(slot, &info), CKR_OK);
    assert_true(info.flags & CKF_SO_PIN_LOCKED);
    assert_false(info.flags & CKF_USER_PIN_LOCKED);
    /* the organisation's SO PIN: every token of it says so */
    assert_int_equal(p11->C_GetTokenInfo(test_slot("alice@example.org"), &info), CKR_OK);
    assert_true(info.flags & CKF_SO_PIN_LOCKED);
    /* the user PIN is another counter */
    assert_int_equal(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(events("org.so-login-failed", "pkcs11:pid="), 10);
    assert_int_equal(events("org.so-locked", "pkcs11:pid="), 1);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

/* Runs in a child as a user who can read the store but not write it (root
 * writes any file: an ordinary user then; on a server, the role of
 * MAILTOKEN_STORE); its stderr goes to err_fd.  Returns 0 when the logins
 * went as expected, else the number of the check. */
static int logins_without_counter(int err_fd, bool best_effort)
{
    if (dup2(err_fd, STDERR_FILENO) < 0)
        return 1;
    if (!test_schema[0] && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 2;
    if (!test_schema[0] && (access(test_store, R_OK) != 0 || access(test_store, W_OK) == 0))
        return 3;
    CK_SESSION_HANDLE s = child_session(0);
    if (!s)
        return 4;
    CK_RV wrong = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)WRONG_PIN, strlen(WRONG_PIN));
    CK_RV right = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN));
    if (best_effort)
        return wrong == CKR_PIN_INCORRECT && right == CKR_OK ? 0 : 5;
    return wrong == CKR_DEVICE_ERROR && right == CKR_DEVICE_ERROR ? 0 : 6;
}

/* The child's stderr, as a string the caller frees. */
static char *run_without_counter(bool best_effort)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/stderr.txt", test_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    assert_true(fd >= 0);
    fchmod(fd, 0666);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(logins_without_counter(fd, best_effort));
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 8192);
    assert_non_null(text);
    assert_true(fread(text, 1, 8191, f) < 8191);
    fclose(f);
    return text;
}

/* On a server: a role that may read the store's schema and change nothing
 * becomes the module's (MAILTOKEN_STORE, the test server's user replaced). */
static void use_reader_role(void)
{
    char sql[512], location[sizeof(test_store) + 64];
    snprintf(sql, sizeof(sql),
             "CREATE ROLE reader_%s LOGIN; GRANT USAGE ON SCHEMA %s TO reader_%s;"
             " GRANT SELECT ON ALL TABLES IN SCHEMA %s TO reader_%s",
             test_schema, test_schema, test_schema, test_schema, test_schema);
    test_server_sql(test_store, sql);
    const char *user = strstr(test_store, "://postgres@");
    assert_non_null(user);
    snprintf(location, sizeof(location), "%.*s://reader_%s@%s", (int)(user - test_store), test_store,
             test_schema, user + strlen("://postgres@"));
    setenv("MAILTOKEN_STORE", location, 1);
}

static void unwritable_store_refuses_login(void **state)
{
    (void)state;
    if (test_schema[0]) {
        use_reader_role();
    } else if (geteuid() == 0) {
        assert_int_equal(chmod(test_dir, 0755), 0);
        assert_int_equal(chmod(test_store, 0644), 0);
    } else {
        assert_int_equal(chmod(test_store, 0444), 0);
    }
    write_config("");
    char *err = run_without_counter(false);
    /* said once, with the reason: the file's, or the server's */
    static const char prefix[] = "mailtoken-pkcs11: login refused: ";
    const char *said = strstr(err, prefix);
    const char *why = test_schema[0] ? "permission denied for table tokens" : "not writable";
    if (!said || !strstr(said, "cannot count the login attempt") || !strstr(said, why) ||
        strstr(said + sizeof(prefix), "login refused"))
        fail_msg("the client's log does not say why once: %s", err);
    free(err);
    write_config("pin_counter = best-effort\n");
    err = run_without_counter(true);
    assert_null(strstr(err, "login refused"));
    free(err);
    assert_int_equal(failed_logins(), 0); /* nothing could be counted */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(parallel_logins_never_pass_the_limit, make_store, remove_store),
        cmocka_unit_test_setup_teardown(so_pin_locks, make_store, remove_store),
        cmocka_unit_test_setup_teardown(unwritable_store_refuses_login, make_store, remove_store),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
