/* Per-thread error messages and small helpers shared by the store library. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char last_error[1024];

static const char *const status_names[] = {
    [MT_OK] = "ok",
    [MT_ERR_INVALID] = "invalid",
    [MT_ERR_NOT_FOUND] = "not-found",
    [MT_ERR_CONFLICT] = "conflict",
    [MT_ERR_PASSWORD] = "wrong-password",
    [MT_ERR_UNSUPPORTED] = "unsupported",
    [MT_ERR_TOO_LARGE] = "too-large",
    [MT_ERR_PIN_INCORRECT] = "pin-incorrect",
    [MT_ERR_PIN_LOCKED] = "pin-locked",
    [MT_ERR_PIN_POLICY] = "pin-policy",
    [MT_ERR_PIN_NOT_SET] = "pin-not-set",
    [MT_ERR_READONLY] = "read-only",
    [MT_ERR_BUSY] = "busy",
    [MT_ERR_IO] = "io",
    [MT_ERR_DB] = "database",
    [MT_ERR_CRYPTO] = "crypto",
    [MT_ERR_NOMEM] = "out-of-memory",
    [MT_ERR_INTERNAL] = "internal",
    [MT_ERR_TAMPERED] = "tampered",
};

const char *mt_status_name(mt_status status)
{
    if ((size_t)status >= sizeof(status_names) / sizeof(status_names[0]) || !status_names[status])
        return "unknown";
    return status_names[status];
}

const char *mt_errmsg(void)
{
    return last_error;
}

void mt_clear_error(void)
{
    last_error[0] = '\0';
}

mt_status mt_fail(mt_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return status;
}

mt_status mt_fail_prefix(mt_status status, const char *prefix)
{
    char previous[sizeof(last_error)];
    memcpy(previous, last_error, sizeof(previous));
    snprintf(last_error, sizeof(last_error), "%s%s", prefix, previous);
    return status;
}

char *mt_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

uint8_t *mt_memdup(const void *data, size_t len)
{
    if (!data || len == 0)
        return NULL;
    uint8_t *copy = malloc(len);
    if (copy)
        memcpy(copy, data, len);
    return copy;
}

bool mt_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t extra;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= len)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

int64_t mt_now(void)
{
    return (int64_t)time(NULL);
}
