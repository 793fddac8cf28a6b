/*
 * InterNetX-style JSON API ordering GlobalSign PersonalSign (ca-protocols.md
 * §4): certificate create with a CSR (a job), job info and search,
 * certificate info, search and revoke, the head-of-line poll queue.
 */
#include "sim.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    long id;
    bool done;
    int polls_left;
    char email[256];
    char ctid[128];
    long created;
    long cert_id;
    char *cert_pem, *serial;
} job;

typedef struct cert {
    long id;
    char email[256];
    char *pem, *serial;
    long created;
    bool revoked;
} cert;

typedef struct message {
    long id;
    char *json;
} message;

static job jobs[256];
static size_t n_jobs;
static cert certs[256];
static size_t n_certs;
static message queue[512];
static size_t q_head, q_tail;
static unsigned long confirmed;
static long next_job = 123456, next_cert = 150, next_msg = 1005360985;
static long rate_second;
static int rate_count;

static void envelope(sim_response *resp, unsigned http, const char *type, const char *code,
                     const char *text, const char *otype, const char *ovalue, const char *data,
                     const sim_request *req)
{
    resp->status = http;
    resp->content_type = "application/json";
    sim_buf_printf(&resp->body, "{\"stid\":\"%ld-sim-%lu\"", (long)time(NULL), (unsigned long)rand());
    if (req && req->ctid) {
        char *c = sim_json_escape(req->ctid);
        sim_buf_printf(&resp->body, ",\"ctid\":\"%s\"", c);
        free(c);
    }
    sim_buf_printf(&resp->body, ",\"status\":{\"code\":\"%s\",\"text\":\"%s\",\"type\":\"%s\"}",
                   code, text, type);
    if (otype)
        sim_buf_printf(&resp->body, ",\"object\":{\"type\":\"%s\",\"value\":\"%s\"}", otype,
                       ovalue ? ovalue : "");
    if (data)
        sim_buf_printf(&resp->body, ",\"data\":%s", data);
    sim_buf_add(&resp->body, "}", 1);
}

static void error(sim_response *resp, unsigned http, const char *code, const char *ef,
                  const char *text, const sim_request *req)
{
    resp->status = http;
    resp->content_type = "application/json";
    char *t = sim_json_escape(text);
    sim_buf_printf(&resp->body,
                   "{\"stid\":\"%ld-sim-err\",\"status\":{\"code\":\"%s\",\"text\":\"%s\","
                   "\"type\":\"ERROR\"},\"messages\":[{\"text\":\"%s\",\"code\":\"%s\","
                   "\"status\":\"ERROR\"}]}",
                   (long)time(NULL), code, t, t, ef);
    (void)req;
    free(t);
}

static void enqueue(const char *json)
{
    if (q_tail < 512) {
        queue[q_tail].id = next_msg++;
        /* the id is spliced in front of the rest of the object */
        sim_buf b = {0};
        sim_buf_printf(&b, "{\"id\":%ld,%s", queue[q_tail].id, json + 1);
        queue[q_tail].json = b.data;
        q_tail++;
    }
}

static void complete_job(job *j)
{
    if (j->done)
        return;
    j->done = true;
    cert *c = &certs[n_certs++];
    c->id = next_cert++;
    snprintf(c->email, sizeof c->email, "%s", j->email);
    c->pem = j->cert_pem;
    c->serial = j->serial;
    c->created = (long)time(NULL);
    j->cert_id = c->id;
    char when[40];
    sim_iso_time(c->created, when);
    sim_buf b = {0};
    char *ctid = sim_json_escape(j->ctid);
    sim_buf_printf(&b,
                   "{\"job\":{\"id\":%ld,\"status\":\"SUCCESS\",\"action\":\"create\"},"
                   "\"ctid\":\"%s\",\"object\":{\"type\":\"Certificate\",\"value\":\"%ld\","
                   "\"data\":{\"id\":%ld,\"name\":\"%s\"}},\"created\":\"%s\"}",
                   j->id, ctid, c->id, c->id, j->email, when);
    enqueue(b.data);
    sim_buf_free(&b);
    free(ctid);
}

static bool auth_ok(sim *s, const sim_request *req)
{
    char plain[512], expect[1024] = "Basic ";
    snprintf(plain, sizeof plain, "%s:%s", s->login, s->password);
    EVP_EncodeBlock((unsigned char *)expect + 6, (unsigned char *)plain, (int)strlen(plain));
    return req->authorization && strcmp(req->authorization, expect) == 0 && req->context &&
           strcmp(req->context, s->context) == 0;
}

static bool contact_known(sim *s, json_int_t id)
{
    if (s->n_contacts == 0)
        return id == 100;
    for (size_t i = 0; i < s->n_contacts; i++)
        if (s->contacts[i] == id)
            return true;
    return false;
}

static bool password_ok(const char *p)
{
    size_t n = strlen(p);
    if (n < 8 || n > 32)
        return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static void create(sim *s, const sim_request *req, sim_response *resp)
{
    json_error_t jerr;
    json_t *o = json_loads(req->body, 0, &jerr);
    const char *bad = NULL;
    if (!o || !json_is_object(o)) {
        error(resp, 400, "E400101", "EF00000", "The request body is not valid JSON.", req);
        goto out;
    }
    const char *type = json_string_value(json_object_get(o, "certificateType"));
    const char *product = json_string_value(json_object_get(o, "product"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *fname = json_string_value(json_object_get(o, "firstname"));
    const char *lname = json_string_value(json_object_get(o, "lastname"));
    const char *software = json_string_value(json_object_get(o, "software"));
    const char *password = json_string_value(json_object_get(o, "password"));
    const char *csr = json_string_value(json_object_get(o, "csr"));
    json_t *admin = json_object_get(json_object_get(o, "adminContact"), "id");
    json_t *lifetime = json_object_get(o, "lifetime");
    if (!type || strcmp(type, "MAIL") != 0)
        bad = "certificateType";
    else if (!product || strcmp(product, "GLOBALSIGN_PERSONALSIGN_1") != 0)
        bad = "product";
    else if (!name || !strchr(name, '@'))
        bad = "name";
    else if (!fname || !*fname)
        bad = "firstname";
    else if (!lname || !*lname)
        bad = "lastname";
    else if (!software)
        bad = "software";
    else if (!lifetime || !json_is_object(lifetime))
        bad = "lifetime";
    else if (!json_is_integer(admin) || !contact_known(s, json_integer_value(admin)))
        bad = "adminContact";
    else if (password && !password_ok(password))
        bad = "password";
    else if (!json_is_true(json_object_get(o, "hasCsr")) || !csr)
        bad = "csr";
    if (bad) {
        char text[256];
        snprintf(text, sizeof text, "The value of the field '%s' is missing or invalid.", bad);
        error(resp, 400, "E400101", "EF01003", text, req);
        goto out;
    }
    char *pem = NULL, *serial = NULL;
    int rc = sim_issue(s, csr, name, "submit", &pem, &serial);
    if (rc) {
        error(resp, 400, "E400101", rc == -13 ? "EF400013" : "EF400010",
              rc == -13 ? "The key size of the CSR is not supported." : "The CSR is invalid.",
              req);
        goto out;
    }
    if (sim_fault_take(s, "unrelated", "submit", NULL)) {
        enqueue("{\"notify\":{\"type\":\"DOMAIN\",\"object\":\"example.org\"},"
                "\"object\":{\"type\":\"Domain\",\"value\":\"example.org\"}}");
        enqueue("{\"job\":{\"id\":99,\"status\":\"SUCCESS\",\"action\":\"update\"},"
                "\"object\":{\"type\":\"Contact\",\"value\":\"100\"}}");
    }
    job *j = &jobs[n_jobs++];
    memset(j, 0, sizeof *j);
    j->id = next_job++;
    j->polls_left = s->pending_polls;
    snprintf(j->email, sizeof j->email, "%s", name);
    snprintf(j->ctid, sizeof j->ctid, "%s", req->ctid ? req->ctid : "");
    j->created = (long)time(NULL);
    j->cert_pem = pem;
    j->serial = serial;
    s->orders++;
    if (j->polls_left == 0)
        complete_job(j);
    char data[128], value[64];
    snprintf(data, sizeof data, "[{\"id\":%ld,\"status\":\"%s\"}]", j->id,
             j->done ? "SUCCESS" : "RUNNING");
    snprintf(value, sizeof value, "%s", name);
    envelope(resp, 200, "NOTIFY", "N400101", "Certificate order was started successfully.",
             "Certificate", value, data, req);
out:
    json_decref(o);
}

static job *find_job(long id)
{
    for (size_t i = 0; i < n_jobs; i++)
        if (jobs[i].id == id)
            return &jobs[i];
    return NULL;
}

static cert *find_cert(long id)
{
    for (size_t i = 0; i < n_certs; i++)
        if (certs[i].id == id)
            return &certs[i];
    return NULL;
}

static void job_json(sim_buf *b, const job *j)
{
    char when[40];
    sim_iso_time(j->created, when);
    sim_buf_printf(b, "{\"job\":{\"id\":%ld,\"status\":\"%s\",\"created\":\"%s\"},", j->id,
                   j->done ? "SUCCESS" : "RUNNING", when);
    if (j->done)
        sim_buf_printf(b, "\"object\":{\"type\":\"Certificate\",\"value\":\"%ld\"}}", j->cert_id);
    else
        sim_buf_printf(b, "\"object\":{\"type\":\"Certificate\",\"value\":\"%s\"},"
                          "\"authentication\":[{\"status\":\"PENDING_CUSTOMER_APPROVAL\"}]}",
                       j->email);
}

static void job_info(sim *s, const sim_request *req, long id, sim_response *resp)
{
    (void)s;
    job *j = find_job(id);
    if (!j) {
        error(resp, 404, "E0105", "EF0105", "The job does not exist.", req);
        return;
    }
    if (!j->done && j->polls_left > 0 && --j->polls_left == 0)
        complete_job(j);
    sim_buf b = {0};
    sim_buf_add(&b, "[", 1);
    job_json(&b, j);
    sim_buf_add(&b, "]", 1);
    char value[32];
    snprintf(value, sizeof value, "%ld", j->id);
    envelope(resp, 200, "SUCCESS", "S0105", "Job data were inquired successfully.", "Job", value,
             b.data, req);
    sim_buf_free(&b);
}

static void cert_json(sim_buf *b, sim *s, const cert *c)
{
    /* no_cert: the issuing CA where the certificate should be */
    bool no_cert = sim_fault_take(s, "no_cert", "info", NULL);
    char *pem = sim_json_escape(no_cert ? s->ca_chain_pem : c->pem);
    char *chain = sim_json_escape(s->ca_chain_pem);
    char when[40];
    sim_iso_time(c->created, when);
    sim_buf_printf(b,
                   "{\"id\":%ld,\"name\":\"%s\",\"certificateType\":\"MAIL\","
                   "\"product\":\"GLOBALSIGN_PERSONALSIGN_1\",\"software\":\"NOT_SET\","
                   "\"server\":\"%s\",\"certificationAuthority\":[{\"caType\":\"INTERMEDIATE\","
                   "\"caCertificate\":\"%s\"}],\"serialNumber\":\"%s\",\"created\":\"%s\"}",
                   c->id, c->email, pem, chain, c->serial, when);
    free(pem);
    free(chain);
}

static void cert_info(sim *s, const sim_request *req, long id, sim_response *resp)
{
    cert *c = find_cert(id);
    if (!c) {
        error(resp, 404, "E400104", "EF400104", "The certificate does not exist.", req);
        return;
    }
    sim_buf b = {0};
    sim_buf_add(&b, "[", 1);
    cert_json(&b, s, c);
    sim_buf_add(&b, "]", 1);
    envelope(resp, 200, "SUCCESS", "S400104", "Certificate data were inquired successfully.",
             "Certificate", c->email, b.data, req);
    sim_buf_free(&b);
}

/* The value of the first filter with this key (flat filters only). */
static const char *filter_value(json_t *query, const char *key)
{
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(query, "filters"), i, f)
    {
        const char *k = json_string_value(json_object_get(f, "key"));
        if (k && strcmp(k, key) == 0)
            return json_string_value(json_object_get(f, "value"));
    }
    return NULL;
}

static void search(sim *s, const sim_request *req, bool jobs_wanted, sim_response *resp)
{
    json_t *q = json_loads(req->body ? req->body : "{}", 0, NULL);
    if (!q)
        q = json_object();
    sim_buf b = {0};
    sim_buf_add(&b, "[", 1);
    size_t found = 0;
    if (jobs_wanted) {
        const char *object = filter_value(q, "object");
        for (size_t i = 0; i < n_jobs; i++)
            if (!object || strcmp(object, jobs[i].email) == 0) {
                if (found++)
                    sim_buf_add(&b, ",", 1);
                job_json(&b, &jobs[i]);
            }
    } else {
        const char *name = filter_value(q, "name");
        const char *serial = filter_value(q, "serialNumber");
        for (size_t i = 0; i < n_certs; i++)
            if ((!name || strcmp(name, certs[i].email) == 0) &&
                (!serial || strcasecmp(serial, certs[i].serial) == 0)) {
                if (found++)
                    sim_buf_add(&b, ",", 1);
                cert_json(&b, s, &certs[i]);
            }
    }
    sim_buf_add(&b, "]", 1);
    char summary[32];
    snprintf(summary, sizeof summary, "%zu", found);
    envelope(resp, 200, "SUCCESS", jobs_wanted ? "S0113" : "S400105", "Search done.",
             jobs_wanted ? "Job" : "Certificate", summary, b.data, req);
    sim_buf_free(&b);
    json_decref(q);
}

static void poll_info(const sim_request *req, sim_response *resp)
{
    if (q_head == q_tail) {
        envelope(resp, 200, "SUCCESS", "S0905", "No notification.", "Message", "", "[]", req);
        return;
    }
    sim_buf b = {0};
    sim_buf_printf(&b, "[%s]", queue[q_head].json);
    char value[32];
    snprintf(value, sizeof value, "%ld", queue[q_head].id);
    envelope(resp, 200, "SUCCESS", "S0905", "The notification was polled successfully.",
             "Message", value, b.data, req);
    sim_buf_free(&b);
}

static void poll_confirm(const sim_request *req, long id, sim_response *resp)
{
    if (q_head == q_tail || queue[q_head].id != id) {
        error(resp, 404, "E0906", "EF0906", "The message does not exist.", req);
        return;
    }
    free(queue[q_head].json);
    q_head++;
    confirmed++;
    char value[32];
    snprintf(value, sizeof value, "%ld", id);
    envelope(resp, 200, "SUCCESS", "S0906", "The notification was confirmed successfully.",
             "Message", value, NULL, req);
}

static void revoke(sim *s, const sim_request *req, long id, sim_response *resp)
{
    cert *c = find_cert(id);
    if (!c) {
        error(resp, 404, "E4001031", "EF4001031", "The certificate does not exist.", req);
        return;
    }
    if (!c->revoked)
        s->revocations++;
    c->revoked = true;
    envelope(resp, 200, "SUCCESS", "S4001031", "The certificate was revoked successfully.",
             "Certificate", c->email, NULL, req);
}

static const char *classify(const sim_request *req)
{
    const char *u = req->url;
    if (strcmp(u, "/v1/certificate") == 0)
        return "submit";
    if (strncmp(u, "/v1/poll", 8) == 0)
        return strcmp(req->method, "PUT") == 0 ? "confirm" : "poll";
    if (strcmp(u, "/v1/job/_search") == 0 || strcmp(u, "/v1/certificate/_search") == 0)
        return "search";
    if (strncmp(u, "/v1/job/", 8) == 0)
        return "job";
    if (strstr(u, "/_revoke"))
        return "revoke";
    if (strncmp(u, "/v1/certificate/", 16) == 0)
        return "info";
    return "other";
}

static bool over_rate(sim *s)
{
    long now = (long)time(NULL);
    if (now != rate_second) {
        rate_second = now;
        rate_count = 0;
    }
    return s->max_rps > 0 && ++rate_count > s->max_rps;
}

static void handle(sim *s, const sim_request *req, sim_response *resp)
{
    const char *op = classify(req), *m = req->method;
    long id = 0;
    if (!req->user_agent || !*req->user_agent) {
        error(resp, 400, "E0001", "EF0001", "A User-Agent header is required.", req);
        return;
    }
    if (!auth_ok(s, req)) {
        error(resp, 401, "E0002", "EF02022", "Authentication failed.", req);
        return;
    }
    if (over_rate(s)) {
        error(resp, 429, "E0003", "EF0003", "Too many requests.", req);
        return;
    }
    if (strcmp(op, "submit") == 0 && strcmp(m, "POST") == 0) {
        create(s, req, resp);
    } else if (strcmp(op, "search") == 0 && strcmp(m, "POST") == 0) {
        search(s, req, strncmp(req->url, "/v1/job", 7) == 0, resp);
    } else if (strcmp(op, "job") == 0 && strcmp(m, "GET") == 0 &&
               sscanf(req->url, "/v1/job/%ld", &id) == 1) {
        job_info(s, req, id, resp);
    } else if (strcmp(op, "revoke") == 0 && (strcmp(m, "DELETE") == 0 || strcmp(m, "POST") == 0) &&
               sscanf(req->url, "/v1/certificate/%ld/_revoke", &id) == 1) {
        revoke(s, req, id, resp);
    } else if (strcmp(op, "info") == 0 && strcmp(m, "GET") == 0 &&
               sscanf(req->url, "/v1/certificate/%ld", &id) == 1) {
        cert_info(s, req, id, resp);
    } else if (strcmp(op, "poll") == 0 && strcmp(m, "GET") == 0) {
        poll_info(req, resp);
    } else if (strcmp(op, "confirm") == 0 && sscanf(req->url, "/v1/poll/%ld", &id) == 1) {
        poll_confirm(req, id, resp);
    } else if (strcmp(req->url, "/v1/hello") == 0) {
        envelope(resp, 200, "SUCCESS", "S0000", "Hello.", NULL, NULL, NULL, req);
    } else {
        error(resp, 404, "E0404", "EF0404", "Unknown route.", req);
    }
}

static void rate_limited(sim *s, const sim_request *req, sim_response *resp)
{
    (void)s;
    error(resp, 429, "E0003", "EF0003", "Too many requests.", req);
}

static void stats(sim *s, sim_buf *out)
{
    (void)s;
    sim_buf_printf(out, ",\"queued\":%zu,\"confirmed\":%lu", q_tail - q_head, confirmed);
}

const sim_protocol sim_internetx = {
    .kind = "internetx",
    .classify = classify,
    .handle = handle,
    .rate_limited = rate_limited,
    .stats = stats,
};
