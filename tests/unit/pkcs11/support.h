/* Shared by the module's unit tests: load the module like a client, build a
 * store, find objects. */
#ifndef MT_TEST_PKCS11_SUPPORT_H
#define MT_TEST_PKCS11_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pkcs11_v3.h"

#define TEST_PIN "user-pin-123"
#define TEST_SO_PIN "so-secret-123"
/* The module's config in every test: the cheapest Argon2id, as the
 * provisioning tool writes the rows (tests/data/fast-kdf.conf says why). */
#define TEST_FAST_KDF_CONF                                                          \
    "allow_weak_kdf = true\nkdf_opslimit = 1\nkdf_memlimit = 8192\n"                \
    "so_kdf_opslimit = 1\nso_kdf_memlimit = 8192\n"

extern CK_FUNCTION_LIST_PTR p11;
extern CK_FUNCTION_LIST_3_0 *p11_3;
extern char test_dir[256];
extern char test_store[320];
/* On a PostgreSQL server (MT_TEST_PG, tests/pg/with-postgres.sh) the store
 * is this schema, test_store its URI; "" when the store is a file. */
extern char test_schema[64];
/* Runs SQL through psql on a server location. */
void test_server_sql(const char *location, const char *sql);
/* Extra mt-test-provision options ("--max-failures 3"). */
extern const char *test_provision_options;

/* dlopen()s $MT_MODULE once per process. */
void test_load_module(void);
/* A fresh directory and store holding the named users (tests/data names,
 * "partner" as PEM), $MAILTOKEN_STORE pointing at it, an empty config. */
void test_make_store(const char *const *users, size_t n);
/* Adds users to the existing store (another process: mt-test-provision). */
void test_add_users(const char *const *users, size_t n);
/* Waits until a running module must see the store's last change. */
void test_store_settle(void);
void test_remove_store(void);
/* Group teardowns for cmocka: the store removed; the module finalized first. */
int test_teardown_store(void **state);
int test_teardown_module(void **state);
/* A user the test data lacks (P-521...), issued by the test CA into a
 * directory of its own (removed with the store): the P12's path, which
 * test_make_store takes in place of a user name.  NAME.key is beside it. */
const char *test_issue_user(const char *name, const char *email, const char *keyspec);
const char *test_data(const char *rel);

/* Initialise with NULL args and return the slot of a token label. */
void test_init(void);
CK_SLOT_ID test_slot(const char *label);
CK_SESSION_HANDLE test_session(const char *label, int login);
/* First object of a class with the given CKA_ID (or any, id NULL). */
CK_OBJECT_HANDLE test_find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS klass, const uint8_t *id,
                           size_t id_len);
/* CKA_ID of the primary certificate of the session's token. */
size_t test_primary_id(CK_SESSION_HANDLE s, uint8_t id[20]);
/* EVP_PKEY of a user's certificate, for checking signatures. */
void *test_cert_pubkey(const char *user);

#endif
