/* Observations: the ordered "key = value" record of one module's answers. */
#include "p11diff.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory in a test tool: nothing sensible is left to compare. */
static void *checked(void *p)
{
    if (!p) {
        fputs("p11diff: out of memory\n", stderr);
        abort();
    }
    return p;
}

void p11d_log_free(p11d_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        free(log->items[i].key);
        free(log->items[i].value);
    }
    free(log->items);
    memset(log, 0, sizeof(*log));
}

void p11d_scope_set(p11d_log *log, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log->scope, sizeof(log->scope), fmt, ap);
    va_end(ap);
}

static void append(p11d_log *log, const char *key, char *value)
{
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 256;
        log->items = checked(realloc(log->items, log->cap * sizeof(*log->items)));
    }
    p11d_obs *obs = &log->items[log->n++];
    if (asprintf(&obs->key, "%s/%s", log->scope, key) < 0)
        checked(NULL);
    obs->value = value;
}

void p11d_note(p11d_log *log, const char *key, const char *fmt, ...)
{
    char *value = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&value, fmt, ap) < 0)
        checked(NULL);
    va_end(ap);
    append(log, key, value);
}

void p11d_note_rv(p11d_log *log, const char *key, CK_RV rv)
{
    char buf[32];
    p11d_note(log, key, "%s", p11d_rv_name(rv, buf));
}

void p11d_note_bytes(p11d_log *log, const char *key, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    char text[2 * 48 + 1];
    if (len <= 48) {
        for (size_t i = 0; i < len; i++) {
            text[2 * i] = hex[p[i] >> 4];
            text[2 * i + 1] = hex[p[i] & 15];
        }
        text[2 * len] = '\0';
        p11d_note(log, key, "len=%zu %s", len, text);
        return;
    }
    unsigned char md[32];
    unsigned int md_len = 0;
    EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
    for (size_t i = 0; i < 8; i++) {
        text[2 * i] = hex[md[i] >> 4];
        text[2 * i + 1] = hex[md[i] & 15];
    }
    text[16] = '\0';
    p11d_note(log, key, "len=%zu sha256:%s", len, text);
}

static int by_key(const void *a, const void *b)
{
    const p11d_obs *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value); /* repeated keys: by value */
}

void p11d_log_sort(p11d_log *log)
{
    if (log->n)
        qsort(log->items, log->n, sizeof(*log->items), by_key);
}
