/* HTTPS requests for the CA drivers (libcurl). */
#include "renew/http.h"

#include "renew/killpoint.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MT_HTTP_MAX_BODY (8u * 1024u * 1024u)

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    mt_http_response *resp = user;
    size_t len = size * n;
    if (resp->len + len > MT_HTTP_MAX_BODY)
        return 0; /* aborts the transfer: a CA answer is never this large */
    char *p = realloc(resp->body, resp->len + len + 1);
    if (!p)
        return 0;
    memcpy(p + resp->len, data, len);
    resp->body = p;
    resp->len += len;
    resp->body[resp->len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    mt_http_response *resp = user;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
        resp->retry_after = strtol(data + 12, NULL, 10);
    return len;
}

static mt_http_failure classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return MT_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return MT_HTTP_NOT_SENT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return MT_HTTP_TLS;
    case CURLE_SSL_CONNECT_ERROR:
        return MT_HTTP_NOT_SENT; /* handshake never finished: no request sent */
    default:
        return MT_HTTP_LOST;
    }
}

static void throttle(mt_http *http)
{
    if (http->min_interval_ms <= 0)
        return;
    double wait = http->last_request + (double)http->min_interval_ms / 1000.0 - monotonic();
    if (wait > 0)
        usleep((useconds_t)(wait * 1e6));
    http->last_request = monotonic();
}

void mt_http_request(mt_http *http, const char *method, const char *url,
                     const char *const *headers, const mt_secret *body, mt_http_response *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    struct curl_slist *list = NULL;
    CURL *curl = curl_easy_init();
    if (!curl) {
        out->failure = MT_HTTP_NOT_SENT;
        snprintf(out->error, sizeof out->error, "cannot initialise libcurl");
        return;
    }
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (http->ca_bundle)
        curl_easy_setopt(curl, CURLOPT_CAINFO, http->ca_bundle);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http->timeout_ms > 0 ? http->timeout_ms : 30000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     http->connect_timeout_ms > 0 ? http->connect_timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mailtoken/" MT_VERSION_STRING);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)body->data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body->len);
    } else if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (http->basic_user && http->basic_password) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, http->basic_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, (const char *)http->basic_password->data);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    throttle(http);
    mt_renew_kill_request(false, method, url);
    CURLcode rc = curl_easy_perform(curl);
    out->failure = classify(rc);
    if (rc == CURLE_OK) {
        mt_renew_kill_request(true, method, url);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
        if (!out->body) {
            out->body = calloc(1, 1);
            out->len = 0;
        }
    } else {
        snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(rc));
        free(out->body);
        out->body = NULL;
        out->len = 0;
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
}

void mt_http_response_clear(mt_http_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static size_t encoded_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += unreserved((unsigned char)*s) ? 1 : 3;
    return n;
}

static char *encode(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    return out;
}

mt_status mt_http_form(const char *const *keys, const char *const *values, size_t n,
                       mt_secret **out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i])
            len += encoded_len(keys[i]) + 1 + encoded_len(values[i]) + 1;
    mt_status st = mt_secret_new(len, out);
    if (st != MT_OK)
        return st;
    char *p = (char *)(*out)->data;
    for (size_t i = 0; i < n; i++) {
        if (!values[i])
            continue;
        if (p != (char *)(*out)->data)
            *p++ = '&';
        p = encode(p, keys[i]);
        *p++ = '=';
        p = encode(p, values[i]);
    }
    *p = '\0';
    (*out)->len = (size_t)(p - (char *)(*out)->data);
    return MT_OK;
}
