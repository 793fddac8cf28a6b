/* Shared by the module's unit tests. */
#include "support.h"

#include <dlfcn.h>
#include <ftw.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

CK_FUNCTION_LIST_PTR p11;
CK_FUNCTION_LIST_3_0 *p11_3;
char test_dir[256];
char test_store[320];
char test_schema[64];
const char *test_provision_options = "";

void test_load_module(void)
{
    const char *path = getenv("MT_MODULE");
    if (!path || !*path) {
        fprintf(stderr, "MT_MODULE is not set\n");
        fail();
    }
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        fail();
    }
    CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
    CK_C_GetInterface get_interface = (CK_C_GetInterface)dlsym(handle, "C_GetInterface");
    assert_non_null(get_list);
    assert_non_null(get_interface);
    assert_int_equal(get_list(&p11), CKR_OK);
    CK_INTERFACE_PTR iface = NULL;
    CK_VERSION v3 = {3, 0};
    assert_int_equal(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v3, &iface, 0), CKR_OK);
    p11_3 = iface->pFunctionList;
}

const char *test_data(const char *rel)
{
    static _Thread_local char path[1024];
    const char *dir = getenv("MT_TESTDATA");
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return path;
}

static void provision(const char *const *users, size_t n)
{
    char cmd[8192];
    const char *tool = getenv("MT_PROVISION");
    assert_non_null(tool);
    int len = snprintf(cmd, sizeof(cmd), "'%s' --store '%s' --so-pin %s --pin %s %s", tool,
                       test_store, TEST_SO_PIN, TEST_PIN, test_provision_options);
    for (size_t i = 0; i < n; i++) {
        const char *ext = strcmp(users[i], "partner") == 0 ? "crt" : "p12";
        char rel[128];
        snprintf(rel, sizeof(rel), "users/%s.%s", users[i], ext);
        /* a path (test_issue_user) is taken as it is */
        const char *path = strchr(users[i], '/') ? users[i] : test_data(rel);
        len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " '%s'", path);
    }
    /* the provisioning tool is ours, not a client: no sanitizer preload */
    unsetenv("LD_PRELOAD");
    int status = system(cmd);
    if (status != 0) {
        fprintf(stderr, "provisioning failed: %s\n", cmd);
        fail();
    }
}

/* On a PostgreSQL server (tests/pg/with-postgres.sh sets MT_TEST_PG): a
 * schema of its own, named after the process and a counter, as the store. */
static bool make_server_store(void)
{
    static unsigned serial;
    const char *server = getenv("MT_TEST_PG");
    char sql[128];
    test_schema[0] = '\0';
    if (!server || !*server)
        return false;
    snprintf(test_schema, sizeof(test_schema), "t%ld_%u", (long)getpid(), ++serial);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", test_schema);
    test_server_sql(server, sql);
    snprintf(test_store, sizeof(test_store), "%s%soptions=-csearch_path%%3D%s", server,
             strchr(server, '?') ? "&" : "?", test_schema);
    return true;
}

void test_server_sql(const char *location, const char *sql)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "psql -qX -v ON_ERROR_STOP=1 '%s' -c \"%s\" >/dev/null", location, sql);
    unsetenv("LD_PRELOAD");
    assert_int_equal(system(cmd), 0);
}

void test_make_store(const char *const *users, size_t n)
{
    char conf[400];
    const char *tmp = getenv("TMPDIR");
    snprintf(test_dir, sizeof(test_dir), "%s/mt-p11-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(test_dir));
    if (!make_server_store())
        snprintf(test_store, sizeof(test_store), "%s/store.db", test_dir);
    snprintf(conf, sizeof(conf), "%s/mailtoken.conf", test_dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs(TEST_FAST_KDF_CONF, f);
    fclose(f);
    setenv("MAILTOKEN_STORE", test_store, 1);
    setenv("MAILTOKEN_CONF", conf, 1);
    unsetenv("MAILTOKEN_ACCOUNTS");
    provision(users, n);
}

/* A module on a server reads the store's change signal at most every 100 ms
 * (store/src/db_pg.c, GENERATION_POLL_MS): past that, any check of the
 * module's either reads the signal or follows a read made after this change. */
void test_store_settle(void)
{
    if (test_schema[0])
        usleep(150 * 1000);
}

void test_add_users(const char *const *users, size_t n)
{
    provision(users, n);
    test_store_settle();
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static char issued_dir[256];

const char *test_issue_user(const char *name, const char *email, const char *keyspec)
{
    static char paths[8][320];
    static size_t next;
    char cmd[2048];
    const char *src = getenv("MT_SOURCE_DIR"), *tmp = getenv("TMPDIR");
    assert_non_null(src);
    if (!issued_dir[0]) {
        snprintf(issued_dir, sizeof(issued_dir), "%s/mt-p11-issued-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(issued_dir));
    }
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/tools/issue-user.sh' '%s' '%s' '%s' '%s' '%s'", src,
             test_data("ca"), issued_dir, name, email, keyspec);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not issue %s: %s\n", name, cmd);
        fail();
    }
    char *path = paths[next++ % 8];
    snprintf(path, sizeof(paths[0]), "%s/%s.p12", issued_dir, name);
    return path;
}

void test_remove_store(void)
{
    if (test_dir[0])
        nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (issued_dir[0])
        nftw(issued_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    test_dir[0] = issued_dir[0] = '\0';
}

void test_init(void)
{
    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
}

CK_SLOT_ID test_slot(const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        assert_int_equal(p11->C_GetTokenInfo(slots[i], &info), CKR_OK);
        size_t len = strlen(label);
        if (memcmp(info.label, label, len) == 0 && (len == 32 || info.label[len] == ' '))
            return slots[i];
    }
    fprintf(stderr, "no token labelled %s\n", label);
    fail();
    return 0;
}

CK_SESSION_HANDLE test_session(const char *label, int login)
{
    CK_SESSION_HANDLE s;
    assert_int_equal(p11->C_OpenSession(test_slot(label), CKF_SERIAL_SESSION, NULL, NULL, &s),
                     CKR_OK);
    if (login) {
        CK_RV rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN));
        assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    }
    return s;
}

CK_OBJECT_HANDLE test_find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS klass, const uint8_t *id,
                           size_t id_len)
{
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof(klass)},
                           {CKA_ID, (void *)id, id_len}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    assert_int_equal(p11->C_FindObjectsInit(s, tmpl, id ? 2 : 1), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, &h, 1, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    return n == 1 ? h : CK_INVALID_HANDLE;
}

size_t test_primary_id(CK_SESSION_HANDLE s, uint8_t id[20])
{
    CK_OBJECT_HANDLE cert = test_find(s, CKO_CERTIFICATE, NULL, 0);
    CK_ATTRIBUTE attr = {CKA_ID, id, 20};
    assert_int_not_equal(cert, CK_INVALID_HANDLE);
    assert_int_equal(p11->C_GetAttributeValue(s, cert, &attr, 1), CKR_OK);
    return attr.ulValueLen;
}

void *test_cert_pubkey(const char *user)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    FILE *f = fopen(test_data(rel), "r");
    assert_non_null(f);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(cert);
    EVP_PKEY *pkey = X509_get_pubkey(cert);
    X509_free(cert);
    assert_non_null(pkey);
    return pkey;
}

int test_teardown_store(void **state)
{
    (void)state;
    test_remove_store();
    return 0;
}

int test_teardown_module(void **state)
{
    (void)state;
    p11->C_Finalize(NULL);
    test_remove_store();
    return 0;
}
