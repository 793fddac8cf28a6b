/* The route table, the path (decoded one segment at a time, so that an
 * encoded '/' or '..' cannot move a request elsewhere) and the order of the
 * checks: path 400, key 401/429, route 404/405, organisation and scope 403,
 * content type 415, size 413; then the handler. */
#include "serve.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGMENTS 16

const mt_api_route mt_api_routes[] = {
    {"POST", "certificates/upload/p12", MT_SCOPE_WRITE, MT_API_BODY_JSON, mt_api_cert_upload_p12},
    {"POST", "certificates/upload/pem", MT_SCOPE_WRITE, MT_API_BODY_JSON, mt_api_cert_upload_pem},
    {"GET", "certificates", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_cert_list},
    {"GET", "certificates/{certificateId}", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_cert_get},
    {"PATCH", "certificates/{certificateId}", MT_SCOPE_WRITE, MT_API_BODY_JSON, mt_api_cert_patch},
    {"DELETE", "certificates/{certificateId}", MT_SCOPE_ADMIN, MT_API_BODY_NONE,
     mt_api_cert_delete},
    {"POST", "email-accounts", MT_SCOPE_WRITE, MT_API_BODY_JSON, mt_api_account_create},
    {"GET", "email-accounts", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_account_list},
    {"GET", "email-accounts/{email}", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_account_get},
    {"DELETE", "email-accounts/{email}", MT_SCOPE_ADMIN, MT_API_BODY_NONE,
     mt_api_account_delete},
    {"POST", "email-accounts/{email}/certificates/{certificateId}/set-primary", MT_SCOPE_WRITE,
     MT_API_BODY_NONE, mt_api_account_set_primary},
    {"POST", "email-accounts/{email}/certificates/{certificateId}/add-to-history",
     MT_SCOPE_WRITE, MT_API_BODY_NONE, mt_api_account_add_to_history},
    {"GET", "email-accounts/{email}/uri", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_account_uri},
    {"POST", "email-accounts/{email}/renew", MT_SCOPE_WRITE, MT_API_BODY_OPTIONAL,
     mt_api_account_renew},
    {"GET", "renewals", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_renewals},
    {"GET", "status", MT_SCOPE_READ, MT_API_BODY_NONE, mt_api_status},
    {"GET", "audit", MT_SCOPE_ADMIN, MT_API_BODY_NONE, mt_api_audit},
};
const size_t mt_api_n_routes = sizeof(mt_api_routes) / sizeof(mt_api_routes[0]);

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool mt_api_percent_decode(const char *in, size_t len, char **out, size_t *out_len)
{
    char *text = malloc(len + 1), *w = text;
    if (!text)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            *w++ = in[i];
            continue;
        }
        int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
        int lo = i + 2 < len ? hex_value(in[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(text);
            return false;
        }
        *w++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *w = '\0';
    *out = text;
    if (out_len)
        *out_len = (size_t)(w - text);
    return true;
}

static bool refuse(mt_api_preflight *pf, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool refuse(mt_api_preflight *pf, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pf->message, sizeof(pf->message), fmt, ap);
    va_end(ap);
    pf->status = status;
    return false;
}

typedef struct segments {
    char *item[MAX_SEGMENTS];
    size_t n;
} segments;

static void segments_clear(segments *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->item[i]);
    s->n = 0;
}

static bool is_dot_segment(const char *s, size_t len)
{
    return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/* Splits the raw path (query string already cut off by the server) and
 * decodes each segment on its own. */
static bool split_path(const char *url, segments *out, mt_api_preflight *pf)
{
    const char *p = url;
    out->n = 0;
    if (*p != '/')
        return refuse(pf, 400, "path: must start with '/'");
    while (*p == '/') {
        p++;
        size_t len = strcspn(p, "/");
        if (out->n == MAX_SEGMENTS || len == 0)
            return refuse(pf, 404, "no such resource");
        if (is_dot_segment(p, len))
            return refuse(pf, 400, "path: '.' and '..' segments are not allowed");
        char *seg = NULL;
        size_t seg_len = 0;
        if (!mt_api_percent_decode(p, len, &seg, &seg_len))
            return refuse(pf, 400, "path: invalid percent-encoding");
        out->item[out->n++] = seg;
        if (strlen(seg) != seg_len)
            return refuse(pf, 400, "path: contains a control character (NUL)");
        if (strchr(seg, '/'))
            return refuse(pf, 400, "path: an encoded '/' is not allowed in a segment");
        if (is_dot_segment(seg, strlen(seg)))
            return refuse(pf, 400, "path: '.' and '..' segments are not allowed");
        p += len;
    }
    return true;
}

/* Whether the pattern's literal segments match (captures the {...} ones). */
static bool pattern_matches(const char *pattern, char *const *segs, size_t n, char **params)
{
    size_t i = 0, n_params = 0;
    const char *p = pattern;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (i >= n)
            return false;
        if (*p == '{') {
            if (params && n_params < MT_API_MAX_PARAMS)
                params[n_params] = segs[i];
            n_params++;
        } else if (strlen(segs[i]) != len || strncmp(segs[i], p, len) != 0) {
            return false;
        }
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == n;
}

/* The {name} of the k-th parameter of a pattern. */
static void param_name(const char *pattern, size_t k, char *out, size_t len)
{
    const char *p = pattern;
    for (size_t i = 0; (p = strchr(p, '{')) != NULL; i++, p++) {
        if (i == k) {
            size_t n = strcspn(p + 1, "}");
            snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p + 1);
            return;
        }
    }
    snprintf(out, len, "path");
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static bool utf8_valid(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                                 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        if (!n || (n == 2 && *p < 0xc2))
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* Finds the route for METHOD and the segments after .../smime/; 404, or 405
 * naming the methods the path has. */
static bool find_route(const char *method, char *const *segs, size_t n, mt_api_preflight *pf)
{
    static _Thread_local char allow[64];
    allow[0] = '\0';
    for (size_t i = 0; i < mt_api_n_routes; i++) {
        const mt_api_route *r = &mt_api_routes[i];
        if (!pattern_matches(r->pattern, segs, n, NULL))
            continue;
        if (strcmp(r->method, method) == 0) {
            pattern_matches(r->pattern, segs, n, pf->params);
            pf->route = r;
            return true;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", r->method);
    }
    if (allow[0]) {
        pf->allow = allow;
        return refuse(pf, 405, "%s is not allowed here; allowed: %s", method, allow);
    }
    return refuse(pf, 404, "no such resource");
}

static bool check_params(mt_api_preflight *pf)
{
    for (size_t k = 0; k < MT_API_MAX_PARAMS && pf->params[k]; k++) {
        char name[32];
        param_name(pf->route->pattern, k, name, sizeof(name));
        if (has_control(pf->params[k]))
            return refuse(pf, 400, "%s: contains a control character", name);
        if (!utf8_valid(pf->params[k]))
            return refuse(pf, 400, "%s: not valid UTF-8", name);
    }
    return true;
}

/* application/json, with parameters or not. */
static bool is_json_type(const char *type)
{
    size_t n = strlen("application/json");
    return type && strncasecmp(type, "application/json", n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static bool check_body(mt_api_server *srv, struct MHD_Connection *conn, mt_api_preflight *pf)
{
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    const char *chunked = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    bool has_body = (length && strtoull(length, NULL, 10) > 0) || chunked;
    if (pf->route->body == MT_API_BODY_NONE || (pf->route->body == MT_API_BODY_OPTIONAL && !has_body))
        return true;
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!is_json_type(type))
        return refuse(pf, 415, "Content-Type must be application/json, not %s",
                      type ? type : "missing");
    if (length && strtoull(length, NULL, 10) > srv->max_body)
        return refuse(pf, 413, "the body is %s bytes, over the %zu-byte limit", length,
                      srv->max_body);
    return true;
}

bool mt_api_preflight_run(mt_api_server *srv, struct MHD_Connection *conn, const char *method,
                          const char *url, const char *client, mt_api_preflight *pf)
{
    segments segs = {0};
    bool ok = split_path(url, &segs, pf);
    if (ok)
        pf->key = mt_api_authenticate(srv, conn, client, &pf->status, pf->message,
                                      sizeof(pf->message), &pf->retry_after);
    ok = ok && pf->key;
    /* /v3/organizations/{organizationId}/smime/... */
    if (ok && (segs.n < 5 || strcmp(segs.item[0], "v3") != 0 ||
               strcmp(segs.item[1], "organizations") != 0 || strcmp(segs.item[3], "smime") != 0))
        ok = refuse(pf, 404, "no such resource");
    ok = ok && find_route(method, segs.item + 4, segs.n - 4, pf);
    if (ok) { /* the request keeps what it needs, the rest is freed below */
        pf->org_ref = segs.item[2];
        segs.item[2] = NULL;
        for (size_t i = 4; i < segs.n; i++) {
            for (size_t k = 0; k < MT_API_MAX_PARAMS; k++)
                if (pf->params[k] == segs.item[i])
                    segs.item[i] = NULL;
        }
        ok = check_params(pf);
    }
    if (ok && !mt_api_org_matches(pf->key, pf->org_ref))
        ok = refuse(pf, 403, "this API key is not valid for organization %s", pf->org_ref);
    if (ok && pf->key->scope < pf->route->scope)
        ok = refuse(pf, 403, "this API key has the %s scope; %s %s needs %s",
                    mt_api_scope_name(pf->key->scope), method, pf->route->pattern,
                    mt_api_scope_name(pf->route->scope));
    ok = ok && check_body(srv, conn, pf);
    segments_clear(&segs);
    return ok;
}

void mt_api_preflight_clear(mt_api_preflight *pf)
{
    free(pf->org_ref);
    for (size_t k = 0; k < MT_API_MAX_PARAMS; k++)
        free(pf->params[k]);
    mt_api_key_free(pf->key);
    memset(pf, 0, sizeof(*pf));
}

void mt_api_dispatch(mt_api_request *req)
{
    char actor[48];
    mt_status st = mt_api_pool_get(req->server->pool, &req->store);
    if (st != MT_OK) {
        mt_api_fail(req, st, "store");
        return;
    }
    snprintf(actor, sizeof(actor), "api:key-%lld", (long long)req->key->id);
    mt_store_set_actor(req->store, actor);
    req->route->run(req);
    bool broken = req->status >= 500;
    mt_api_pool_put(req->server->pool, req->store, broken);
    req->store = NULL;
}
