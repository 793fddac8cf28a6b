/* What a request carries: body fields, query parameters, certificate
 * references; every refusal names the field. */
#include "serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The field's value, NULL when absent or null. */
static json_t *field_value(mt_api_request *req, const char *field)
{
    json_t *value = req->body ? json_object_get(req->body, field) : NULL;
    return json_is_null(value) ? NULL : value;
}

bool mt_api_string(mt_api_request *req, const char *field, bool required, const char **out,
                   size_t *len)
{
    json_t *value = field_value(req, field);
    *out = NULL;
    if (len)
        *len = 0;
    if (!value) {
        if (required)
            mt_api_error(req, 400, "%s is required", field);
        return !required;
    }
    if (!json_is_string(value)) {
        mt_api_error(req, 400, "%s must be a string", field);
        return false;
    }
    *out = json_string_value(value);
    if (len)
        *len = json_string_length(value);
    if (!len && strlen(*out) != json_string_length(value)) {
        mt_api_error(req, 400, "%s contains a NUL character", field);
        return false;
    }
    return true;
}

bool mt_api_bool(mt_api_request *req, const char *field, bool *out)
{
    json_t *value = field_value(req, field);
    if (!value)
        return true;
    if (!json_is_boolean(value)) {
        mt_api_error(req, 400, "%s must be true or false", field);
        return false;
    }
    *out = json_is_true(value);
    return true;
}

bool mt_api_query(mt_api_request *req, const char *name, char **out)
{
    const char *raw = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    size_t len = 0;
    *out = NULL;
    if (!raw)
        return true;
    if (!mt_api_percent_decode(raw, strlen(raw), out, &len)) {
        mt_api_error(req, 400, "%s: invalid percent-encoding", name);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)(*out)[i] < 0x20 || (*out)[i] == 0x7f) {
            mt_api_error(req, 400, "%s: contains a control character", name);
            free(*out);
            *out = NULL;
            return false;
        }
    }
    return true;
}

bool mt_api_query_number(mt_api_request *req, const char *name, long long min, long long max,
                         long long *out)
{
    char *text = NULL, *end = NULL;
    if (!mt_api_query(req, name, &text))
        return false;
    if (!text)
        return true;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    bool ok = !errno && *text && !*end && strspn(text, "0123456789") == strlen(text) &&
              value >= min && value <= max;
    free(text);
    if (!ok) {
        mt_api_error(req, 400, "%s must be a number from %lld to %lld", name, min, max);
        return false;
    }
    *out = value;
    return true;
}

bool mt_api_paging(mt_api_request *req, size_t *limit, size_t *offset)
{
    long long l = 20, o = 0;
    if (!mt_api_query_number(req, "limit", 1, 1000, &l) ||
        !mt_api_query_number(req, "offset", 0, 1000000000, &o))
        return false;
    *limit = (size_t)l;
    *offset = (size_t)o;
    return true;
}

bool mt_api_cert(mt_api_request *req, const char *field, const char *ref, mt_cert **out)
{
    mt_status st = mt_cli_find_cert(req->store, req->org_id, ref, out);
    if (st == MT_ERR_INVALID) { /* neither an id nor a fingerprint: no such certificate */
        mt_cli_clear_error();
        mt_cli_set_error(MT_ERR_NOT_FOUND, "certificate %s not found", ref);
        st = MT_ERR_NOT_FOUND;
    }
    if (st != MT_OK)
        mt_api_fail(req, st, field);
    return st == MT_OK;
}

bool mt_api_cert_id(mt_api_request *req, const char *field, const char *ref, int64_t *out)
{
    mt_cert *cert = NULL;
    bool ok = mt_api_cert(req, field, ref, &cert);
    if (ok)
        *out = cert->id;
    mt_cert_free(cert);
    return ok;
}
