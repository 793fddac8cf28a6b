/* libmicrohttpd glue: the checks before the body, the body under its limit,
 * the handler, the response, and one log line per request:
 *   TIME CLIENT METHOD PATH STATUS DURATION key=ID
 * (the path as sent, without its query string, non-printable bytes escaped). */
#include "serve.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct exchange {
    double started;
    char method[16];
    char path[256];  /* for the log line */
    char client[64];
    mt_api_preflight pf;
    bool accepted;   /* the preflight checks passed: the body is read */
    bool queued;     /* a response is queued */
    unsigned status;
    uint8_t *body;   /* may hold a P12 password: wiped before it is freed */
    size_t len, cap;
    bool too_large;
} exchange;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ memory */

static void wiping_free(void *ptr)
{
    if (!ptr)
        return;
    sodium_memzero(ptr, malloc_usable_size(ptr));
    free(ptr);
}

void mt_api_json_wipe_on_free(void)
{
    /* malloc stays the allocator: strings jansson returns may still be free()d. */
    json_set_alloc_funcs(malloc, wiping_free);
}

static void body_wipe(exchange *ex)
{
    if (ex->body) {
        sodium_memzero(ex->body, ex->cap);
        free(ex->body);
    }
    ex->body = NULL;
    ex->len = ex->cap = 0;
}

/* ------------------------------------------------------------ log */

static void copy_printable(char *out, size_t size, const char *in, size_t max_in)
{
    size_t w = 0;
    for (size_t i = 0; in[i] && i < max_in && w + 5 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c >= 0x7f)
            w += (size_t)snprintf(out + w, size - w, "\\x%02x", c);
        else
            out[w++] = (char)c;
    }
    out[w] = '\0';
}

static void log_request(const exchange *ex)
{
    char when[21], line[600], status[12] = "-", key[24] = "-";
    mt_cli_format_time((int64_t)time(NULL), when);
    if (ex->status)
        snprintf(status, sizeof(status), "%u", ex->status);
    if (ex->pf.key)
        snprintf(key, sizeof(key), "%lld", (long long)ex->pf.key->id);
    int n = snprintf(line, sizeof(line), "%s %s %s %s %s %.1fms key=%s\n", when, ex->client,
                     ex->method, ex->path, status, (now_seconds() - ex->started) * 1000.0, key);
    if (n > 0) /* one write: lines of concurrent requests never mix */
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char message[512];
    (void)cls;
    vsnprintf(message, sizeof(message), fmt, ap);
    message[strcspn(message, "\n")] = '\0';
    fprintf(stderr, "mailtoken serve: libmicrohttpd: %s\n", message);
}

/* ------------------------------------------------------------ the client */

static void client_address(mt_api_server *srv, struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *daemon = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "unknown");
    if (daemon && daemon->daemon == srv->plain) {
        /* behind the reverse proxy: the address it saw, the last one it added */
        const char *fwd = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
        if (fwd && *fwd) {
            const char *last = strrchr(fwd, ',');
            last = last ? last + 1 : fwd;
            last += strspn(last, " ");
            char raw[64];
            struct in6_addr any;
            snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(last, " "), last);
            if (inet_pton(AF_INET, raw, &any) == 1 || inet_pton(AF_INET6, raw, &any) == 1) {
                snprintf(out, len, "%s", raw);
                return;
            }
        }
    }
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
    else if (sa->sa_family == AF_UNIX)
        snprintf(out, len, "unix");
}

/* ------------------------------------------------------------ responses */

static enum MHD_Result queue(struct MHD_Connection *conn, exchange *ex, unsigned status,
                             json_t *body, const char *location, unsigned retry_after,
                             const char *allow)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"mailtoken\"");
    if (location && *location)
        MHD_add_response_header(r, "Location", location);
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    if (retry_after) {
        char seconds[16];
        snprintf(seconds, sizeof(seconds), "%u", retry_after);
        MHD_add_response_header(r, "Retry-After", seconds);
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    ex->status = status;
    ex->queued = true;
    return rc;
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, exchange *ex, unsigned status,
                                   const char *message, unsigned retry_after, const char *allow)
{
    json_t *body = mt_api_error_body(status, message);
    enum MHD_Result rc = queue(conn, ex, status, body, NULL, retry_after, allow);
    json_decref(body);
    return rc;
}

/* ------------------------------------------------------------ the body */

static void body_add(mt_api_server *srv, exchange *ex, const char *data, size_t n)
{
    if (ex->too_large)
        return;
    if (ex->len + n > srv->max_body) {
        ex->too_large = true;
        body_wipe(ex);
        return;
    }
    if (ex->len + n > ex->cap) {
        size_t cap = ex->cap ? ex->cap : 16384;
        while (cap < ex->len + n)
            cap *= 2;
        uint8_t *grown = malloc(cap);
        if (!grown) {
            ex->too_large = true;
            body_wipe(ex);
            return;
        }
        if (ex->body)
            memcpy(grown, ex->body, ex->len);
        size_t len = ex->len;
        body_wipe(ex); /* the old copy too */
        ex->body = grown;
        ex->len = len;
        ex->cap = cap;
    }
    memcpy(ex->body + ex->len, data, n);
    ex->len += n;
}

/* The body as a JSON object: false after answering 400. */
static bool parse_body(exchange *ex, mt_api_request *req)
{
    if (ex->pf.route->body == MT_API_BODY_NONE ||
        (ex->pf.route->body == MT_API_BODY_OPTIONAL && ex->len == 0))
        return true;
    if (ex->len == 0) {
        mt_api_error(req, 400, "a JSON body is required");
        return false;
    }
    json_error_t error;
    req->body = json_loadb((const char *)ex->body, ex->len, JSON_REJECT_DUPLICATES, &error);
    if (!req->body) {
        /* jansson quotes the text near the error: it could be a password */
        error.text[strcspn(error.text, "\n")] = '\0';
        char *near = strstr(error.text, " near ");
        if (near)
            *near = '\0';
        mt_api_error(req, 400, "body: invalid JSON at line %d, column %d: %s", error.line,
                     error.column, error.text);
        return false;
    }
    if (!json_is_object(req->body)) {
        mt_api_error(req, 400, "body: must be a JSON object");
        return false;
    }
    return true;
}

static enum MHD_Result respond(mt_api_server *srv, struct MHD_Connection *conn, exchange *ex)
{
    if (ex->too_large) {
        char message[128];
        snprintf(message, sizeof(message), "the body is over the %zu-byte limit", srv->max_body);
        return queue_error(conn, ex, 413, message, 0, NULL);
    }
    mt_api_request req = {
        .server = srv,
        .conn = conn,
        .route = ex->pf.route,
        .org_ref = ex->pf.org_ref,
        .key = ex->pf.key,
        .org_id = ex->pf.key->org_id,
    };
    memcpy(req.params, ex->pf.params, sizeof(req.params));
    if (parse_body(ex, &req))
        mt_api_dispatch(&req);
    body_wipe(ex);
    if (!req.status)
        mt_api_error(&req, 500, "the request had no answer");
    enum MHD_Result rc =
        queue(conn, ex, req.status, req.reply, req.location, req.retry_after, NULL);
    json_decref(req.reply);
    json_decref(req.body);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    mt_api_server *srv = cls;
    exchange *ex = *con_cls;
    (void)version;
    if (!ex) { /* the headers are in: check all that needs no body */
        if (!(ex = calloc(1, sizeof(*ex))))
            return MHD_NO;
        *con_cls = ex;
        ex->started = now_seconds();
        snprintf(ex->method, sizeof(ex->method), "%s", method);
        copy_printable(ex->path, sizeof(ex->path), url, 200);
        client_address(srv, conn, ex->client, sizeof(ex->client));
        ex->accepted =
            mt_api_preflight_run(srv, conn, method, url, ex->client, &ex->pf);
        if (!ex->accepted)
            return queue_error(conn, ex, ex->pf.status, ex->pf.message, ex->pf.retry_after,
                               ex->pf.allow);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (ex->accepted && !ex->queued && ex->pf.route->body != MT_API_BODY_NONE)
            body_add(srv, ex, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ex->queued)
        return MHD_YES;
    return respond(srv, conn, ex);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    exchange *ex = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (!ex)
        return;
    log_request(ex);
    body_wipe(ex);
    mt_api_preflight_clear(&ex->pf);
    free(ex);
    *con_cls = NULL;
}

/* The raw path and query: decoded segment by segment by route.c, so that
 * "%2F" never becomes a separator. */
static size_t keep_escapes(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

mt_status mt_api_daemon_start(mt_api_server *srv, int listen_fd, bool tls, const char *cert_pem,
                              const char *key_pem, struct MHD_Daemon **out)
{
    const mt_config *c = srv->config;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    struct MHD_OptionItem options[12];
    size_t n = 0;
#define OPTION(o, v, p) options[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (void *)(p)}
    OPTION(MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL); /* first, or MHD logs the rest itself */
    OPTION(MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL);
    OPTION(MHD_OPTION_CONNECTION_LIMIT, c->api_max_connections, NULL);
    OPTION(MHD_OPTION_CONNECTION_TIMEOUT, c->api_timeout, NULL);
    OPTION(MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv);
    OPTION(MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL);
    if (tls) {
        flags |= MHD_USE_TLS;
        OPTION(MHD_OPTION_HTTPS_MEM_CERT, 0, cert_pem);
        OPTION(MHD_OPTION_HTTPS_MEM_KEY, 0, key_pem);
        /* TLS 1.2 and 1.3 only */
        OPTION(MHD_OPTION_HTTPS_PRIORITIES, 0,
               "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE");
    }
    OPTION(MHD_OPTION_END, 0, NULL);
#undef OPTION
    *out = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY, options,
                            MHD_OPTION_END);
    if (!*out)
        return mt_cli_set_error(MT_ERR_IO, "cannot start the %s listener (see the message above)",
                                tls ? "HTTPS" : "plain HTTP");
    return MT_OK;
}
