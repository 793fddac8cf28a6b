/* Shared by the fuzz targets (libFuzzer entry points) and the replay driver
 * that runs them in every build.
 *
 * Input format of every target: FILE || PASSWORD || L, where the last byte L
 * (at most MT_FUZZ_MAX_PASSWORD) is the password's length, so that
 * decryption and bag parsing behind the MAC are fuzzed too.  Each target
 * also parses the whole input as a file, with no password and the empty one. */
#ifndef MT_FUZZ_H
#define MT_FUZZ_H

#include "mailtoken/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_FUZZ_MAX_PASSWORD 64

/* Splits an input; false when its last byte is no password length. */
bool mt_fuzz_split(const uint8_t *data, size_t size, size_t *file_len, const char **password,
                   size_t *password_len);
/* Parses and touches what a caller reads, so that a bad pointer shows. */
void mt_fuzz_parse(const uint8_t *data, size_t size, const char *password, size_t password_len);

/* DER as a PEM block with optional headers (lines of 64): a malloc'd text. */
char *mt_fuzz_pem(const char *label, const char *headers, const uint8_t *der, size_t len,
                  size_t *out_len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
