/*
 * InterNetX-style JSON API ordering GlobalSign PersonalSign (ca-protocols.md
 * §4, seed 001): POST /certificate with our CSR starts a job; the job, the
 * poll queue and GET /certificate/{id} tell when the certificate is there.
 * Profile URL: the API base (https://api.autodns.com/v1).  Options:
 * contact_id (required), product, lifetime_months, firstname, lastname.
 * Handles: order_ref = job id, order_ref2 = certificate id.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "renew/driver.h"
#include "renew/keygen.h"

#define IX_MAX_DRAIN 100

/* Joins messages[].text (the CA's explanation) after the status text. */
static void describe(json_t *env, long http, char *out, size_t len)
{
    json_t *status = json_object_get(env, "status");
    const char *code = json_string_value(json_object_get(status, "code"));
    if (!code)
        code = json_string_value(json_object_get(status, "resultCode"));
    int n = snprintf(out, len, "InterNetX HTTP %ld %s: %s", http, code ? code : "-",
                     json_string_value(json_object_get(status, "text"))
                         ? json_string_value(json_object_get(status, "text"))
                         : "no status text");
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(env, "messages"), i, m)
    {
        const char *t = json_string_value(json_object_get(m, "text"));
        const char *c = json_string_value(json_object_get(m, "code"));
        if (t && n > 0 && (size_t)n < len)
            n += snprintf(out + n, len - (size_t)n, "; %s%s%s", c ? c : "", c ? " " : "", t);
    }
    const char *stid = json_string_value(json_object_get(env, "stid"));
    if (stid && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, " (stid %s)", stid);
}

/* One API call.  Returns the envelope of a 2xx answer, else NULL with res
 * classified (§4.7): 401/403 auth, 429/5xx/unreadable retry, 404 attention,
 * 400/422 rejected, 409 ambiguous (retry). */
static json_t *call(mt_drv_ctx *ctx, const char *method, const char *path, json_t *body,
                    const char *ctid, long *http_status, mt_drv_result *res)
{
    json_t *env = NULL;
    mt_secret *payload = NULL;
    char *url = mt_drv_url(ctx, path), *text = NULL;
    char h_ctx[96], h_ctid[160];
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             h_ctx, ctid ? h_ctid : NULL, NULL};
    mt_http_response resp = {0};
    *http_status = 0;
    if (!mt_drv_creds(ctx, res) || !url)
        goto out;
    if (ctx->creds->context)
        snprintf(h_ctx, sizeof h_ctx, "X-Domainrobot-Context: %s", ctx->creds->context);
    else /* a number option (`ca add` stores digits as one) */
        snprintf(h_ctx, sizeof h_ctx, "X-Domainrobot-Context: %ld",
                 mt_opt_int(ctx->options, "context", 4));
    snprintf(h_ctid, sizeof h_ctid, "X-Domainrobot-Ctid: %s", ctid ? ctid : "");
    ctx->http.basic_user = ctx->creds->login;
    ctx->http.basic_password = ctx->creds->password;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text || mt_secret_from(text, strlen(text), &payload) != MT_OK) {
            mt_drv_set(res, MT_DRV_RETRY, "out of memory");
            goto out;
        }
    }
    mt_http_request(&ctx->http, method, url, headers, payload, &resp);
    if (mt_drv_transport_failed(&resp, res))
        goto out;
    *http_status = resp.status;
    env = json_loads(resp.body, 0, NULL);
    char what[480];
    if (!json_is_object(env)) {
        json_decref(env);
        env = NULL;
        mt_drv_set(res, MT_DRV_RETRY, "unreadable answer from InterNetX (HTTP %ld)",
                   resp.status);
        goto out;
    }
    if (resp.status >= 200 && resp.status < 300)
        goto out;
    describe(env, resp.status, what, sizeof what);
    json_decref(env);
    env = NULL;
    res->delay = resp.retry_after;
    if (resp.status == 401 || resp.status == 403)
        mt_drv_set(res, MT_DRV_AUTH, "%s: check the credentials file and context", what);
    else if (resp.status == 429) { /* refused before it was carried out */
        res->rate_limited = true;
        res->not_sent = true;
        mt_drv_set(res, MT_DRV_RETRY, "%s: rate limited", what);
    } else if (resp.status >= 500 || resp.status == 409)
        mt_drv_set(res, MT_DRV_RETRY, "%s", what);
    else if (resp.status == 404)
        mt_drv_set(res, MT_DRV_ATTENTION, "%s", what);
    else
        mt_drv_set(res, MT_DRV_REJECTED, "%s", what);
out:
    if (text) {
        sodium_memzero(text, strlen(text)); /* held the pickup password */
        free(text);
    }
    mt_secret_free(payload);
    mt_http_response_clear(&resp);
    free(url);
    return env;
}

static json_t *first_data(json_t *env)
{
    return json_array_get(json_object_get(env, "data"), 0);
}

/* "2025-03-01T12:31:02.000+0100" to Unix time (-1 when unreadable). */
static int64_t parse_time(const char *text)
{
    struct tm tm = {0};
    const char *rest = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    if (*rest == '.')
        rest += strspn(rest + 1, "0123456789") + 1;
    int64_t t = (int64_t)timegm(&tm);
    if ((*rest == '+' || *rest == '-') && strlen(rest) >= 5) {
        int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
        int mm = (rest[strlen(rest) - 2] - '0') * 10 + (rest[strlen(rest) - 1] - '0');
        t += (*rest == '+' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
    }
    return t;
}

static void iso_time(int64_t t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
}

static bool numeric(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static void id_text(json_t *value, char out[32])
{
    long v;
    out[0] = '\0';
    if (mt_json_int(value, &v))
        snprintf(out, 32, "%ld", v);
}

/* ------------------------------------------------------------- submit */

static void name_parts(mt_drv_ctx *ctx, const char *email, char *first, char *last, size_t len)
{
    const char *f = mt_opt_str(ctx->options, "firstname", NULL);
    const char *l = mt_opt_str(ctx->options, "lastname", NULL);
    size_t local = strcspn(email, "@");
    const char *dot = memchr(email, '.', local);
    if (dot) {
        snprintf(first, len, "%.*s", (int)(dot - email), email);
        snprintf(last, len, "%.*s", (int)(local - (size_t)(dot - email) - 1), dot + 1);
    } else {
        snprintf(first, len, "%.*s", (int)local, email);
        snprintf(last, len, "%.*s", (int)local, email);
    }
    if (f)
        snprintf(first, len, "%s", f);
    if (l)
        snprintf(last, len, "%s", l);
}

static void submit(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res)
{
    (void)dstate;
    static const char alnum[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    char first[128], last[128], pickup[21];
    long status = 0;
    for (size_t i = 0; i < sizeof pickup - 1; i++) /* CA download password: never needed */
        pickup[i] = alnum[randombytes_uniform(sizeof alnum - 1)];
    pickup[sizeof pickup - 1] = '\0';
    name_parts(ctx, r->email, first, last, sizeof first);
    char *csr = mt_renew_csr_pem(r->csr_der, r->csr_der_len);
    long contact = mt_opt_int(ctx->options, "contact_id", 0);
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:i}, s:s, s:{s:i}, s:{s:i}, s:s, s:s, s:s, s:b, s:s?}",
        "certificateType", "MAIL", "product",
        mt_opt_str(ctx->options, "product", "GLOBALSIGN_PERSONALSIGN_1"), "name", r->email,
        "lifetime", "unit", "MONTH", "period", (int)mt_opt_int(ctx->options, "lifetime_months", 12),
        "software", "NOT_SET", "adminContact", "id", (int)contact, "technicalContact", "id",
        (int)contact, "firstname", first, "lastname", last, "password", pickup, "hasCsr", 1,
        "csr", csr);
    json_t *env = call(ctx, "POST", "/certificate", body, r->attempt_id, &status, res);
    sodium_memzero(pickup, sizeof pickup);
    char job[32];
    id_text(json_object_get(first_data(env), "id"), job);
    if (env && job[0]) {
        mt_drv_set_field(&r->order_ref, job);
        mt_drv_set_field(&r->ca_status,
                         json_string_value(json_object_get(first_data(env), "status")));
        mt_drv_set(res, MT_DRV_OK, "InterNetX job %s started", job);
    } else if (env) {
        mt_drv_set(res, MT_DRV_RETRY, "InterNetX accepted the order without a job id: will "
                                      "look it up");
    }
    json_decref(env);
    json_decref(body);
    free(csr);
}

/* ----------------------------------------------------------- poll queue */

typedef struct drain_match {
    const char *ctid;      /* look for this client transaction id, or NULL */
    const char *job;       /* or this job id */
    char found_job[32];
    char found_cert[32];
    char job_status[32];
} drain_match;

/* Stores every queued message, then confirms it (§4.6); notes the one that
 * concerns this renewal.  False (res set) when the queue could not be read. */
static bool drain(mt_drv_ctx *ctx, drain_match *m, mt_drv_result *res)
{
    long status;
    for (int n = 0; n < IX_MAX_DRAIN; n++) {
        json_t *env = call(ctx, "GET", "/poll", NULL, NULL, &status, res);
        json_t *msg = first_data(env);
        char id[32];
        id_text(json_object_get(msg, "id"), id);
        if (!env || !msg || !id[0]) {
            bool read = env != NULL; /* no message: the queue is empty */
            json_decref(env);
            return read;
        }
        char *body = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
        bool was_new = false;
        mt_status st = mt_store_ca_message_save(ctx->store, ctx->org_id, ctx->profile->name, id,
                                                body, &was_new);
        free(body);
        if (st != MT_OK) { /* never confirm what was not stored */
            mt_drv_set(res, MT_DRV_RETRY, "cannot store poll message %s: %s", id, mt_errmsg());
            json_decref(env);
            return false;
        }
        json_t *job = json_object_get(msg, "job");
        char job_id[32];
        id_text(json_object_get(job, "id"), job_id);
        const char *ctid = json_string_value(json_object_get(msg, "ctid"));
        if ((m->ctid && ctid && strcmp(ctid, m->ctid) == 0) ||
            (m->job && job_id[0] && strcmp(job_id, m->job) == 0)) {
            snprintf(m->found_job, sizeof m->found_job, "%s", job_id);
            const char *js = json_string_value(json_object_get(job, "status"));
            snprintf(m->job_status, sizeof m->job_status, "%s", js ? js : "");
            const char *value = json_string_value(
                json_object_get(json_object_get(msg, "object"), "value"));
            if (numeric(value))
                snprintf(m->found_cert, sizeof m->found_cert, "%s", value);
        }
        char path[64];
        snprintf(path, sizeof path, "/poll/%s", id);
        mt_drv_result ignored = {.delay = -1};
        json_decref(call(ctx, "PUT", path, NULL, NULL, &status, &ignored));
        json_decref(env);
        if (status != 200) /* an unconfirmed head blocks the queue: try again later */
            return true;
    }
    return true;
}

/* Job status to an outcome (§4.6). */
static bool job_outcome(const char *status, mt_drv_result *res)
{
    if (!status || !*status || strcmp(status, "RUNNING") == 0 || strcmp(status, "WAIT") == 0 ||
        strcmp(status, "DEFERRED") == 0 || strcmp(status, "NOT_SET") == 0) {
        mt_drv_set(res, MT_DRV_WAIT, "InterNetX job %s: waiting for the mailbox approval",
                   status && *status ? status : "pending");
        return true;
    }
    if (strcmp(status, "FAILED") == 0 || strcmp(status, "CANCELED") == 0) {
        mt_drv_set(res, MT_DRV_REJECTED, "InterNetX job %s: the order was not completed",
                   status);
        return true;
    }
    if (strcmp(status, "SUPPORT") == 0) {
        mt_drv_set(res, MT_DRV_ATTENTION, "InterNetX job is with InterNetX support");
        return true;
    }
    return false; /* SUCCESS */
}

/* The newest certificate named email created at or after since ("" if none). */
static void find_cert(mt_drv_ctx *ctx, const char *email, int64_t since, char out[32],
                      mt_drv_result *res)
{
    long status;
    out[0] = '\0';
    json_t *q = json_pack("{s:[{s:s, s:s, s:s}], s:{s:i, s:i}, s:[{s:s, s:s}]}", "filters",
                          "key", "name", "value", email, "operator", "EQUAL", "view", "limit", 50,
                          "offset", 0, "orders", "key", "created", "type", "DESC");
    json_t *env = call(ctx, "POST", "/certificate/_search", q, NULL, &status, res);
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(env, "data"), i, c)
    {
        if (parse_time(json_string_value(json_object_get(c, "created"))) >= since) {
            id_text(json_object_get(c, "id"), out);
            break;
        }
    }
    json_decref(env);
    json_decref(q);
}

static void fetch(mt_drv_ctx *ctx, mt_renewal *r, mt_drv_result *res)
{
    long status;
    char path[64];
    snprintf(path, sizeof path, "/certificate/%s", r->order_ref2);
    json_t *env = call(ctx, "GET", path, NULL, NULL, &status, res);
    json_t *c = first_data(env);
    const char *server = json_string_value(json_object_get(c, "server"));
    if (!env)
        goto out;
    if (!server || !*server) {
        mt_drv_set(res, MT_DRV_WAIT, "InterNetX certificate %s: not there yet", r->order_ref2);
        goto out;
    }
    size_t len = strlen(server) + 2;
    json_t *ca;
    size_t i;
    json_array_foreach(json_object_get(c, "certificationAuthority"), i, ca)
    {
        const char *p = json_string_value(json_object_get(ca, "caCertificate"));
        len += p ? strlen(p) + 1 : 0;
    }
    res->pem = malloc(len);
    if (!res->pem) {
        mt_drv_set(res, MT_DRV_RETRY, "out of memory");
        goto out;
    }
    snprintf(res->pem, len, "%s\n", server);
    json_array_foreach(json_object_get(c, "certificationAuthority"), i, ca)
    {
        const char *p = json_string_value(json_object_get(ca, "caCertificate"));
        if (p) {
            strcat(res->pem, p);
            strcat(res->pem, "\n");
        }
    }
    mt_drv_set(res, MT_DRV_ISSUED, "certificate %s collected", r->order_ref2);
out:
    json_decref(env);
}

static void poll(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res)
{
    (void)dstate;
    drain_match m = {.job = r->order_ref};
    long status;
    if (!drain(ctx, &m, res))
        return;
    if (m.found_cert[0])
        mt_drv_set_field(&r->order_ref2, m.found_cert);
    if (!r->order_ref2 && r->order_ref) {
        char path[64];
        snprintf(path, sizeof path, "/job/%s", r->order_ref);
        json_t *env = call(ctx, "GET", path, NULL, NULL, &status, res);
        if (!env)
            return;
        json_t *d = first_data(env);
        const char *js = json_string_value(json_object_get(json_object_get(d, "job"), "status"));
        mt_drv_set_field(&r->ca_status, js);
        const char *value =
            json_string_value(json_object_get(json_object_get(d, "object"), "value"));
        bool decided = job_outcome(js, res);
        if (!decided && numeric(value))
            mt_drv_set_field(&r->order_ref2, value);
        else if (!decided) { /* the object names the email: look the id up */
            char cert[32];
            find_cert(ctx, r->email, r->created_at - 60, cert, res);
            if (cert[0])
                mt_drv_set_field(&r->order_ref2, cert);
            else
                mt_drv_set(res, MT_DRV_WAIT, "InterNetX job done, certificate not listed yet");
        }
        json_decref(env);
        if (decided)
            return;
    }
    if (r->order_ref2)
        fetch(ctx, r, res);
}

/* §4.9: the ctid in the poll queue, then the job search, then the
 * certificate search; nothing found proves there is no order. */
static void reconcile(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res)
{
    int64_t since = (int64_t)json_integer_value(json_object_get(dstate, "intent_at")) - 1;
    drain_match m = {.ctid = r->attempt_id};
    long status;
    if (!drain(ctx, &m, res))
        return;
    if (m.found_job[0]) {
        mt_drv_set_field(&r->order_ref, m.found_job);
        if (m.found_cert[0])
            mt_drv_set_field(&r->order_ref2, m.found_cert);
        mt_drv_set(res, MT_DRV_OK, "found InterNetX job %s by its ctid", m.found_job);
        return;
    }
    char when[40];
    iso_time(since, when);
    json_t *q = json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}], s:{s:i}}", "filters",
                          "key", "object", "value", r->email, "operator", "EQUAL", "key",
                          "created", "value", when, "operator", "GREATER_EQUAL", "link", "AND",
                          "view", "limit", 50);
    json_t *env = call(ctx, "POST", "/job/_search", q, NULL, &status, res);
    json_decref(q);
    if (!env)
        return;
    json_t *d;
    size_t i;
    char job[32] = "";
    json_array_foreach(json_object_get(env, "data"), i, d)
    {
        json_t *jb = json_object_get(d, "job");
        if (parse_time(json_string_value(json_object_get(jb, "created"))) >= since) {
            id_text(json_object_get(jb, "id"), job);
            break;
        }
    }
    json_decref(env);
    if (job[0]) {
        mt_drv_set_field(&r->order_ref, job);
        mt_drv_set(res, MT_DRV_OK, "found InterNetX job %s by searching", job);
        return;
    }
    char cert[32];
    res->outcome = MT_DRV_OK;
    find_cert(ctx, r->email, since, cert, res);
    if (res->outcome != MT_DRV_OK)
        return;
    if (cert[0]) {
        mt_drv_set_field(&r->order_ref2, cert);
        mt_drv_set(res, MT_DRV_OK, "found InterNetX certificate %s by searching", cert);
        return;
    }
    mt_drv_set(res, MT_DRV_NO_ORDER, "InterNetX has no order for %s since the intent",
               r->email);
}

static void revoke(mt_drv_ctx *ctx, mt_renewal *r, const mt_cert *old, json_t *dstate,
                   mt_drv_result *res)
{
    (void)r;
    (void)dstate;
    long status;
    json_t *q = json_pack("{s:[{s:s, s:s, s:s}]}", "filters", "key", "serialNumber", "value",
                          old->info->serial_hex, "operator", "EQUAL");
    json_t *env = call(ctx, "POST", "/certificate/_search", q, NULL, &status, res);
    json_decref(q);
    if (!env)
        return;
    char id[32];
    id_text(json_object_get(first_data(env), "id"), id);
    json_decref(env);
    if (!id[0]) {
        mt_drv_set(res, MT_DRV_OK, "old certificate %s is not one of this CA's orders: nothing "
                                   "to revoke there",
                   old->info->serial_hex);
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/certificate/%s/_revoke", id);
    env = call(ctx, "DELETE", path, NULL, NULL, &status, res);
    if (env)
        mt_drv_set(res, MT_DRV_OK, "old certificate %s revoked", id);
    json_decref(env);
}

static void test_auth(mt_drv_ctx *ctx, mt_drv_result *res)
{
    long status;
    json_t *q = json_pack("{s:{s:i}}", "view", "limit", 1);
    json_t *env = call(ctx, "POST", "/certificate/_search", q, NULL, &status, res);
    if (env)
        mt_drv_set(res, MT_DRV_OK, "login accepted by InterNetX");
    json_decref(env);
    json_decref(q);
}

static mt_status check_options(json_t *options)
{
    long contact;
    if (!mt_json_int(json_object_get(options, "contact_id"), &contact) || contact <= 0)
        return mt_cli_set_error(MT_ERR_INVALID, "--option contact_id=ID is required for an "
                                                "internetx profile (the SSL contact id)");
    return MT_OK;
}

const mt_driver mt_driver_internetx = {
    .kind = "internetx",
    .check_options = check_options,
    .submit = submit,
    .poll = poll,
    .reconcile = reconcile,
    .revoke = revoke,
    .test_auth = test_auth,
};
