/* Small helpers shared by the test-data tools (files, keys, certificates, P12). */
#ifndef MT_TOOL_UTIL_H
#define MT_TOOL_UTIL_H

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

/* Prints "PROGRAM: message" and the OpenSSL error queue to stderr; returns 1. */
int tool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

EVP_PKEY *tool_load_key(const char *path);
X509 *tool_load_cert(const char *path);
/* Reads a password file (trailing newline dropped); NULL on error. */
char *tool_read_password(const char *path);
bool tool_write_file(const char *path, const unsigned char *data, size_t len, int mode);
bool tool_write_p12(const char *path, PKCS12 *p12);

/* Adds a certificate bag and a PBES2/AES-256 shrouded key bag sharing a
 * localKeyID; either of key and cert may be NULL. */
bool tool_add_pair(STACK_OF(PKCS12_SAFEBAG) **bags, EVP_PKEY *key, X509 *cert,
                   unsigned char key_id, const char *friendly_name, const char *password);
/* Wraps the bags in one unencrypted safe; adds a SHA-256 MAC when mac is true. */
PKCS12 *tool_make_p12(STACK_OF(PKCS12_SAFEBAG) *bags, const char *password, bool mac);

#endif
