/* Validation of text fields and JSON escaping shared by the store's tables. */
#include "db.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mt_status mt_check_text(const char *field, const char *value, size_t max_len, bool required)
{
    if (!value || !*value)
        return required ? mt_fail(MT_ERR_INVALID, "%s is required", field) : MT_OK;
    size_t len = strlen(value);
    if (len > max_len)
        return mt_fail(MT_ERR_INVALID, "%s is longer than %zu bytes", field, max_len);
    if (!mt_utf8_valid(value, len))
        return mt_fail(MT_ERR_INVALID, "%s is not valid UTF-8", field);
    return MT_OK;
}

/* local@domain: one '@', both sides non-empty, no space or control character,
 * a dot-free or dotted domain without empty labels. */
static bool email_shape_ok(const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@') || !at[1])
        return false;
    for (const unsigned char *p = (const unsigned char *)email; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' || *p == ';')
            return false;
    const char *domain = at + 1;
    if (domain[0] == '.' || domain[strlen(domain) - 1] == '.' || strstr(domain, ".."))
        return false;
    return true;
}

mt_status mt_email_normalize(const char *field, const char *email, char **out)
{
    *out = NULL;
    mt_status st = mt_check_text(field, email, 254, true);
    if (st != MT_OK)
        return st;
    if (!email_shape_ok(email))
        return mt_fail(MT_ERR_INVALID, "%s is not a valid email address: %s", field, email);
    char *lower = strdup(email);
    if (!lower)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    *out = lower;
    return MT_OK;
}

void mt_json_escape(const char *in, char *out, size_t out_len)
{
    size_t w = 0;
    if (out_len == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p; p++) {
        char piece[8];
        size_t n;
        if (*p == '"' || *p == '\\')
            n = (size_t)snprintf(piece, sizeof(piece), "\\%c", *p);
        else if (*p < 0x20)
            n = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", *p);
        else
            n = (size_t)snprintf(piece, sizeof(piece), "%c", *p);
        if (w + n >= out_len)
            break;
        memcpy(out + w, piece, n);
        w += n;
    }
    out[w] = '\0';
}

char *mt_text_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}
