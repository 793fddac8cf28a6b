/*
 * `mailtoken serve`: the managed-store API (docs/api.md) over HTTPS with
 * libmicrohttpd, one thread per connection.  The store is reached through
 * store.h only, with the CLI's own code paths (import, uri, status, renew).
 *
 *   cmd_serve.c    the command: options, config, start, signals, shutdown
 *   listen.c       listening sockets: addresses, Unix socket, systemd's
 *                  socket activation and sd_notify (without libsystemd)
 *   daemon.c       libmicrohttpd glue: bodies, limits, responses, the log line
 *   route.c        the path, the route table, the order of the checks
 *   auth.c         Bearer keys, scopes, slowing down repeated failures
 *   pool.c         store connections shared by the threads, the writer lock
 *   json_in.c      request bodies and query parameters, typed and named
 *   json_out.c     the API's objects and the error body
 *   h_*.c          the handlers
 */
#ifndef MT_SERVE_H
#define MT_SERVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

#define MT_API_PREFIX "/v3/organizations/"
#define MT_API_MAX_PARAMS 4

typedef struct mt_api_server mt_api_server;

/* ------------------------------------------------------------ requests */

typedef enum mt_api_body {
    MT_API_BODY_NONE = 0, /* a body is ignored */
    MT_API_BODY_JSON,     /* a JSON object is required */
    MT_API_BODY_OPTIONAL  /* a JSON object when there is a body */
} mt_api_body;

typedef struct mt_api_request mt_api_request;
typedef void (*mt_api_handler)(mt_api_request *req);

typedef struct mt_api_route {
    const char *method;
    const char *pattern; /* below /v3/organizations/{organizationId}/smime/ */
    mt_api_scope scope;  /* the least scope that may call it */
    mt_api_body body;
    mt_api_handler run;
} mt_api_route;

struct mt_api_request {
    mt_api_server *server;
    struct MHD_Connection *conn;
    const mt_api_route *route;
    const char *org_ref;                 /* {organizationId} as given */
    char *params[MT_API_MAX_PARAMS];     /* the pattern's {...} segments, decoded */
    const mt_api_key *key;
    int64_t org_id;
    mt_store *store;                     /* borrowed for the handler, actor set */
    json_t *body;                        /* the JSON object, or NULL */
    /* the response */
    unsigned status;
    json_t *reply;                       /* NULL: no body (204) */
    char location[512];                  /* Location of a created resource */
    unsigned retry_after;                /* seconds, 0: no header */
};

/* Routes (route.c). */
extern const mt_api_route mt_api_routes[];
extern const size_t mt_api_n_routes;

/* The request's checks before its body is read: path, key, route,
 * organisation, scope, content type.  False when *status and *message say
 * why it is refused (retry_after set for 429). */
typedef struct mt_api_preflight {
    const mt_api_route *route;
    char *org_ref;
    char *params[MT_API_MAX_PARAMS];
    mt_api_key *key;
    unsigned status;
    char message[512];
    unsigned retry_after;
    const char *allow; /* 405: the methods the path has */
} mt_api_preflight;

bool mt_api_preflight_run(mt_api_server *srv, struct MHD_Connection *conn, const char *method,
                          const char *url, const char *client, mt_api_preflight *pf);
void mt_api_preflight_clear(mt_api_preflight *pf);
/* Runs the route's handler with a store from the pool (actor "api:key-N");
 * fills req->status and req->reply. */
void mt_api_dispatch(mt_api_request *req);

/* Percent-decoding of one path segment or query value (malloc'd; *out_len
 * counts an encoded NUL, strlen stops there); false on a bad escape. */
bool mt_api_percent_decode(const char *in, size_t len, char **out, size_t *out_len);

/* ------------------------------------------------------------ auth (auth.c) */

/* Authenticates the Authorization header: NULL key with *status 401 or 429. */
mt_api_key *mt_api_authenticate(mt_api_server *srv, struct MHD_Connection *conn,
                                const char *client, unsigned *status, char *message,
                                size_t message_len, unsigned *retry_after);
/* Whether the key may act for the {organizationId} given (its id or name). */
bool mt_api_org_matches(const mt_api_key *key, const char *org_ref);

typedef struct mt_api_limiter mt_api_limiter;
mt_status mt_api_limiter_new(unsigned failures_per_minute, mt_api_limiter **out);
void mt_api_limiter_free(mt_api_limiter *limiter);

/* ------------------------------------------------------------ store pool (pool.c) */

typedef struct mt_api_pool mt_api_pool;
mt_status mt_api_pool_new(const char *store_path, const mt_config *config, mt_api_pool **out);
void mt_api_pool_free(mt_api_pool *pool);
mt_status mt_api_pool_get(mt_api_pool *pool, mt_store **out);
/* broken: the connection failed in a way that may have spoiled it: close it. */
void mt_api_pool_put(mt_api_pool *pool, mt_store *store, bool broken);
/* Serialises this process's write transactions (SQLite would make the
 * others sleep and retry). */
void mt_api_write_lock(mt_api_server *srv);
void mt_api_write_unlock(mt_api_server *srv);

/* ------------------------------------------------------------ the server (daemon.c) */

struct mt_api_server {
    const mt_config *config;
    mt_api_pool *pool;
    mt_api_limiter *limiter;
    pthread_mutex_t write_lock;
    size_t max_body;
    struct MHD_Daemon *plain; /* the plain HTTP listener (reverse proxy), or NULL */
};

/* Starts a daemon on a listening socket (tls: with the PEM certificate and
 * key).  Errors through mt_cli_set_error. */
mt_status mt_api_daemon_start(mt_api_server *srv, int listen_fd, bool tls, const char *cert_pem,
                              const char *key_pem, struct MHD_Daemon **out);
/* Wipes (then frees) memory that jansson allocated: request bodies hold P12
 * passwords.  Installed before any JSON is made. */
void mt_api_json_wipe_on_free(void);

/* ------------------------------------------------------------ listening (listen.c) */

typedef struct mt_api_listener {
    int fd;
    bool plain;
    char name[160]; /* "https://127.0.0.1:8443", "http+unix:/run/mailtoken/api.sock" */
} mt_api_listener;

/* ADDRESS:PORT ([v6]:PORT) for TLS; unix:PATH or a loopback ADDRESS:PORT for plain. */
mt_status mt_api_listen(const char *spec, bool plain, mt_api_listener *out);
/* Sockets passed by systemd (LISTEN_FDS; FileDescriptorName=plain marks the
 * plain one); *n = 0 when none. */
mt_status mt_api_listen_activated(mt_api_listener *out, size_t max, size_t *n);
/* READY=1, STOPPING=1, STATUS=... to $NOTIFY_SOCKET when set. */
void mt_api_sd_notify(const char *state);

/* ------------------------------------------------------------ JSON in (json_in.c) */

/* Each getter answers 400 naming the field on a wrong type (required: when
 * missing too) and returns false; a JSON null counts as absent. */
bool mt_api_string(mt_api_request *req, const char *field, bool required, const char **out,
                   size_t *len);
bool mt_api_bool(mt_api_request *req, const char *field, bool *out);
/* A query parameter, percent-decoded (NULL when absent; false after a 400). */
bool mt_api_query(mt_api_request *req, const char *name, char **out);
bool mt_api_query_number(mt_api_request *req, const char *name, long long min, long long max,
                         long long *out);
/* limit (default 20, at most 1000) and offset. */
bool mt_api_paging(mt_api_request *req, size_t *limit, size_t *offset);
/* A certificate of the key's organisation, by id or fingerprint; 404 otherwise. */
bool mt_api_cert(mt_api_request *req, const char *field, const char *ref, mt_cert **out);
bool mt_api_cert_id(mt_api_request *req, const char *field, const char *ref, int64_t *out);

/* ------------------------------------------------------------ JSON out (json_out.c) */

/* Answers with status and the error body {"error", "message", "timestamp"}. */
void mt_api_error(mt_api_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers a store failure: its HTTP status and mt_cli_errmsg() (never a
 * secret); 500 hides the details, which go to the log. */
void mt_api_fail(mt_api_request *req, mt_status st, const char *field);
json_t *mt_api_error_body(unsigned status, const char *message);
const char *mt_api_reason(unsigned status);
void mt_api_reply(mt_api_request *req, unsigned status, json_t *body);
/* {"<items_name>": items, "limit", "offset", "total"} */
json_t *mt_api_list(const char *items_name, json_t *items, size_t limit, size_t offset,
                    size_t total);
/* StoredCertificate: the CLI's certificate object with ids as strings. */
json_t *mt_api_cert_json(const mt_cert *cert);
/* EmailAccount: the CLI's account object with ids as strings. */
json_t *mt_api_account_json(const mt_account *account);
/* Replaces the integers under these keys (and integer array elements) by strings. */
void mt_api_ids_as_strings(json_t *obj, const char *const *keys);
/* A path segment with everything but unreserved characters and '@' escaped. */
void mt_api_escape_segment(const char *in, char *out, size_t len);
/* The path of a resource of the request's organisation, for Location. */
void mt_api_location(mt_api_request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ handlers */

void mt_api_cert_upload_p12(mt_api_request *req);
void mt_api_cert_upload_pem(mt_api_request *req);
void mt_api_cert_list(mt_api_request *req);
void mt_api_cert_get(mt_api_request *req);
void mt_api_cert_patch(mt_api_request *req);
void mt_api_cert_delete(mt_api_request *req);
void mt_api_account_create(mt_api_request *req);
void mt_api_account_list(mt_api_request *req);
void mt_api_account_get(mt_api_request *req);
void mt_api_account_delete(mt_api_request *req);
void mt_api_account_set_primary(mt_api_request *req);
void mt_api_account_add_to_history(mt_api_request *req);
void mt_api_account_uri(mt_api_request *req);
void mt_api_account_renew(mt_api_request *req);
void mt_api_renewals(mt_api_request *req);
void mt_api_status(mt_api_request *req);
void mt_api_audit(mt_api_request *req);

#endif
