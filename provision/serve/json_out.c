/* The API's objects (the CLI's --json objects, ids as strings as the
 * managed-store API has them), the list envelope and the error body. */
#include "serve.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *mt_api_reason(unsigned status)
{
    switch (status) {
    case 400: return "Validation failed";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

json_t *mt_api_error_body(unsigned status, const char *message)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "error", json_string(mt_api_reason(status)));
    json_object_set_new(obj, "message", json_string(message));
    json_object_set_new(obj, "timestamp", mt_json_time((int64_t)time(NULL)));
    return obj;
}

void mt_api_reply(mt_api_request *req, unsigned status, json_t *body)
{
    json_decref(req->reply);
    req->status = status;
    req->reply = body;
}

void mt_api_error(mt_api_request *req, unsigned status, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    mt_api_reply(req, status, mt_api_error_body(status, message));
}

static unsigned http_status(mt_status st)
{
    switch (st) {
    case MT_ERR_INVALID:
    case MT_ERR_PASSWORD:
    case MT_ERR_UNSUPPORTED:
    case MT_ERR_PIN_POLICY:
        return 400;
    case MT_ERR_NOT_FOUND:
        return 404;
    case MT_ERR_CONFLICT:
        return 409;
    case MT_ERR_TOO_LARGE:
        return 413;
    case MT_ERR_BUSY:
        return 503;
    default:
        return 500;
    }
}

void mt_api_fail(mt_api_request *req, mt_status st, const char *field)
{
    char why[1024];
    unsigned status = http_status(st);
    snprintf(why, sizeof(why), "%s", mt_cli_errmsg());
    mt_cli_clear_error();
    if (!why[0])
        snprintf(why, sizeof(why), "%s", mt_status_name(st));
    if (status >= 500) { /* the details are for the operator, never for the client */
        fprintf(stderr, "mailtoken serve: %s: %s\n", field ? field : "request", why);
        mt_api_error(req, status, status == 503 ? "the store is busy: try again"
                                                : "internal error (see the server's log)");
        if (status == 503)
            req->retry_after = 1;
        return;
    }
    if (field && *field && !strstr(why, field))
        mt_api_error(req, status, "%s: %s", field, why);
    else
        mt_api_error(req, status, "%s", why);
}

json_t *mt_api_list(const char *items_name, json_t *items, size_t limit, size_t offset,
                    size_t total)
{
    json_t *obj = json_object();
    json_object_set_new(obj, items_name, items);
    json_object_set_new(obj, "limit", json_integer((json_int_t)limit));
    json_object_set_new(obj, "offset", json_integer((json_int_t)offset));
    json_object_set_new(obj, "total", json_integer((json_int_t)total));
    return obj;
}

static json_t *id_string(json_t *value)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(value));
    return json_string(text);
}

void mt_api_ids_as_strings(json_t *obj, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *value = json_object_get(obj, *keys);
        if (json_is_integer(value)) {
            json_object_set_new(obj, *keys, id_string(value));
        } else if (json_is_array(value)) {
            size_t i;
            json_t *item;
            json_array_foreach(value, i, item)
            {
                if (json_is_integer(item))
                    json_array_set_new(value, i, id_string(item));
            }
        }
    }
}

json_t *mt_api_cert_json(const mt_cert *cert)
{
    static const char *const ids[] = {"id", "certificateId", "organizationId", NULL};
    json_t *obj = json_object();
    /* The API's documentation calls the id certificateId: both are given. */
    json_object_set_new(obj, "id", json_integer(cert->id));
    json_object_set_new(obj, "certificateId", json_integer(cert->id));
    json_object_set_new(obj, "organizationId", json_integer(cert->org_id));
    json_t *fields = mt_json_cert(cert);
    json_object_update(obj, fields); /* its "id" replaces the first one, in place */
    json_decref(fields);
    mt_api_ids_as_strings(obj, ids);
    return obj;
}

json_t *mt_api_account_json(const mt_account *account)
{
    static const char *const ids[] = {"organizationId", "primaryCertificateId",
                                      "certificateHistory", "tokenId", NULL};
    json_t *obj = mt_json_account(account);
    mt_api_ids_as_strings(obj, ids);
    return obj;
}

void mt_api_location(mt_api_request *req, const char *fmt, ...)
{
    char tail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof(tail), fmt, ap);
    va_end(ap);
    snprintf(req->location, sizeof(req->location), MT_API_PREFIX "%lld/smime/%s",
             (long long)req->org_id, tail);
}

void mt_api_escape_segment(const char *in, char *out, size_t len)
{
    static const char keep[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~@+";
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && w + 4 < len; p++) {
        if (strchr(keep, *p))
            out[w++] = (char)*p;
        else
            w += (size_t)snprintf(out + w, len - w, "%%%02X", *p);
    }
    out[w] = '\0';
}
