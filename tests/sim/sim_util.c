/* Buffers, form decoding, faults: shared by both simulators. */
#include "sim.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void sim_buf_add(sim_buf *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            abort(); /* a test program: out of memory ends it */
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    sim_buf_add(b, text, (size_t)n);
    free(text);
}

void sim_buf_free(sim_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static char *url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void sim_form_parse(const char *body, sim_form *form)
{
    memset(form, 0, sizeof *form);
    const char *p = body ? body : "";
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (len > 0) {
            form->keys = realloc(form->keys, (form->n + 1) * sizeof *form->keys);
            form->values = realloc(form->values, (form->n + 1) * sizeof *form->values);
            size_t klen = eq ? (size_t)(eq - p) : len;
            form->keys[form->n] = url_decode(p, klen);
            form->values[form->n] = eq ? url_decode(eq + 1, len - klen - 1) : strdup("");
            form->n++;
        }
        p += len;
        if (*p == '&')
            p++;
    }
}

const char *sim_form_get(const sim_form *form, const char *key)
{
    for (size_t i = 0; i < form->n; i++)
        if (strcasecmp(form->keys[i], key) == 0)
            return form->values[i];
    return NULL;
}

void sim_form_free(sim_form *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->keys[i]);
        free(form->values[i]);
    }
    free(form->keys);
    free(form->values);
    memset(form, 0, sizeof *form);
}

char *sim_json_escape(const char *s)
{
    sim_buf b = {0};
    sim_buf_add(&b, "", 0);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sim_buf_printf(&b, "\\%c", c);
        else if (c == '\n')
            sim_buf_add(&b, "\\n", 2);
        else if (c == '\r')
            sim_buf_add(&b, "\\r", 2);
        else if (c < 0x20)
            sim_buf_printf(&b, "\\u%04x", c);
        else
            sim_buf_add(&b, (const char *)&c, 1);
    }
    return b.data;
}

void sim_iso_time(long t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
}

bool sim_fault_take(sim *s, const char *name, const char *op, int *arg)
{
    for (size_t i = 0; i < s->n_faults; i++) {
        sim_fault *f = &s->faults[i];
        if (f->count <= 0 || strcmp(f->name, name) != 0)
            continue;
        if (strcmp(f->op, "any") != 0 && strcmp(f->op, op) != 0)
            continue;
        f->count--;
        if (arg)
            *arg = f->arg;
        return true;
    }
    return false;
}

bool sim_fault_add(sim *s, const char *spec)
{
    sim_fault f = {0};
    char name[32] = "", op[32] = "";
    int count = 1, arg = 0;
    int n = sscanf(spec, "%31[^,],%31[^,],%d,%d", name, op, &count, &arg);
    if (n < 2 || s->n_faults >= SIM_MAX_FAULTS)
        return false;
    snprintf(f.name, sizeof f.name, "%s", name);
    snprintf(f.op, sizeof f.op, "%s", op);
    f.count = count;
    f.arg = arg;
    s->faults[s->n_faults++] = f;
    return true;
}
