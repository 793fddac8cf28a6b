/* Internal to libmailtoken-store: helpers shared by its source files. */
#ifndef MT_STORE_INTERNAL_H
#define MT_STORE_INTERNAL_H

#include "mailtoken/store.h"

#include <stdarg.h>

/* Records the message for mt_errmsg() on this thread and returns status, so
 * that `return mt_fail(MT_ERR_INVALID, "%s: wrong password", name);` reads
 * naturally.  The message must never contain a secret. */
mt_status mt_fail(mt_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message: "alice.p12: " + previous message. */
mt_status mt_fail_prefix(mt_status status, const char *prefix);

/* strdup that tolerates NULL (returns NULL) */
char *mt_strdup(const char *s);
/* Heap copy of a byte range (NULL for no data or len 0, as on failure). */
uint8_t *mt_memdup(const void *data, size_t len);
/* True if s[0..len) is valid UTF-8 with no NUL. */
bool mt_utf8_valid(const char *s, size_t len);
/* Current Unix time. */
int64_t mt_now(void);

/* pin_blocklist.c: the PIN is a common password, or one followed by digits
 * and punctuation only (compared in lower case). */
bool mt_pin_is_common(const uint8_t *pin, size_t len);

/* kdf_window.c: the Argon2id limits a config may ask for and a row may carry
 * (MT_KDF_* in store.h; allow_weak_kdf lowers the floor). */
bool mt_kdf_in_window(const mt_config *config, uint64_t opslimit, uint64_t memlimit);
void mt_kdf_window_describe(const mt_config *config, char *out, size_t len);
/* MT_ERR_INVALID naming `where` and the key when a configured limit is outside. */
mt_status mt_kdf_config_check(const mt_config *config, const char *where);

#endif
