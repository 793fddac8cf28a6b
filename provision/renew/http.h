/* HTTPS for the CA drivers: libcurl, TLS verification always on. */
#ifndef MT_RENEW_HTTP_H
#define MT_RENEW_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "mailtoken/store.h"

typedef struct mt_http {
    const char *ca_bundle;     /* trust anchors for the CA's server, NULL: system */
    long timeout_ms;           /* whole request */
    long connect_timeout_ms;
    long min_interval_ms;      /* client-side rate limit (0: none) */
    double last_request;       /* monotonic seconds of the last request */
    const char *basic_user;    /* HTTP Basic auth, or NULL */
    const mt_secret *basic_password;
} mt_http;

typedef enum mt_http_failure {
    MT_HTTP_OK = 0,       /* a response arrived (any HTTP status) */
    MT_HTTP_NOT_SENT,     /* could not connect: the CA saw nothing */
    MT_HTTP_LOST,         /* sent, but time-out / connection reset: outcome unknown */
    MT_HTTP_TLS           /* the server's certificate did not verify */
} mt_http_failure;

typedef struct mt_http_response {
    mt_http_failure failure;
    long status;
    char *body;            /* NUL-terminated */
    size_t len;
    long retry_after;      /* seconds, -1 when absent */
    char error[256];       /* transport error text */
} mt_http_response;

/* body may hold a secret (a form with the login password): it is given as an
 * mt_secret and never copied outside libcurl.  headers: NULL-terminated. */
void mt_http_request(mt_http *http, const char *method, const char *url,
                     const char *const *headers, const mt_secret *body, mt_http_response *out);
void mt_http_response_clear(mt_http_response *resp);

/* application/x-www-form-urlencoded body built in sodium memory:
 * keys[i]=values[i] (values may be NULL: pair skipped). */
mt_status mt_http_form(const char *const *keys, const char *const *values, size_t n,
                       mt_secret **out);

#endif
