/*
 * Sectigo legacy reseller API (ca-protocols.md §2): !AutoReplaceSMIME puts
 * the candidate CSR on an existing S/MIME order, download/CollectSMIME
 * collects the certificate, !autoRevokeCertificate revokes the old one.
 * Profile URL: the API base (https://secure.trust-provider.com/products).
 * dstate: {"order": original order number}.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew/driver.h"
#include "renew/issued.h"
#include "renew/keygen.h"

typedef struct sectigo_code {
    int code;
    mt_drv_outcome outcome;
    const char *text;
} sectigo_code;

/* Every code seed 002 lists for AutoReplaceSMIME, plus the revoke ones. */
static const sectigo_code codes[] = {
    {-1, MT_DRV_REJECTED, "the request was not made over HTTPS: check the profile URL"},
    {-2, MT_DRV_REJECTED, "the CA did not recognise an argument"},
    {-3, MT_DRV_REJECTED, "a required argument is missing"},
    {-4, MT_DRV_REJECTED, "an argument value is invalid"},
    {-13, MT_DRV_REJECTED, "the CA does not accept this key size: renew with another --key"},
    {-16, MT_DRV_AUTH, "login refused (wrong credentials, account locked, password expired "
                       "or source IP blocked): fix the credentials file, then renew resume"},
    {-17, MT_DRV_REJECTED, "the request used GET rather than POST"},
    {-20, MT_DRV_ATTENTION, "the order's certificate has been revoked: a new order is needed"},
    {-22, MT_DRV_WAIT, "the certificate is currently being issued"},
    {-42, MT_DRV_RETRY, "call limit reached: will try again later"},
    {-91, MT_DRV_ATTENTION, "permission denied for this account: ask Sectigo for the right"},
    {-136, MT_DRV_ATTENTION, "wrong certificate state (was the order already replaced?)"},
};

static void map_code(int code, const char *ca_text, mt_drv_result *res)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (codes[i].code == code) {
            res->rate_limited = code == -42;
            res->delay = -1;
            mt_drv_set(res, codes[i].outcome, "Sectigo error %d: %s%s%s%s", code, codes[i].text,
                       ca_text && *ca_text ? " (CA: " : "", ca_text ? ca_text : "",
                       ca_text && *ca_text ? ")" : "");
            return;
        }
    }
    mt_drv_set(res, code < 0 ? MT_DRV_ATTENTION : MT_DRV_RETRY, "Sectigo error %d: %s", code,
               ca_text && *ca_text ? ca_text : "unknown code");
}

static char *first_line(const char *text)
{
    size_t n = strcspn(text, "\r\n");
    return strndup(text, n);
}

/* An error answer in lines: the code, then the CA's message. */
static void map_error_lines(long code, const char *rest, mt_drv_result *res)
{
    char *line = first_line(rest);
    map_code((int)code, line, res);
    free(line);
}

/* Sends a form to endpoint; false when no answer came (res set). */
static bool post(mt_drv_ctx *ctx, const char *endpoint, const char *const *keys,
                 const char **values, size_t n, mt_http_response *resp, mt_drv_result *res)
{
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                          NULL};
    mt_secret *body = NULL;
    char *url = mt_drv_url(ctx, endpoint);
    bool ok = false;
    memset(resp, 0, sizeof *resp);
    if (!mt_drv_creds(ctx, res))
        goto out;
    values[0] = ctx->creds->login;
    values[1] = (const char *)ctx->creds->password->data;
    if (!url || mt_http_form(keys, values, n, &body) != MT_OK) {
        mt_drv_set(res, MT_DRV_RETRY, "out of memory");
        goto out;
    }
    mt_http_request(&ctx->http, "POST", url, headers, body, resp);
    ok = !mt_drv_transport_failed(resp, res);
    if (ok && resp->status >= 500) {
        res->delay = resp->retry_after;
        mt_drv_set(res, MT_DRV_RETRY, "Sectigo answered HTTP %ld", resp->status);
        ok = false;
    }
out:
    values[1] = NULL;
    mt_secret_free(body);
    free(url);
    return ok;
}

/* Line-format answers: status on line 1, the rest after it. */
static bool parse_lines(const char *body, long *code, const char **rest)
{
    char *end = NULL;
    while (*body == ' ')
        body++;
    if (!*body || !(isdigit((unsigned char)*body) || *body == '-'))
        return false;
    *code = strtol(body, &end, 10);
    if (end == body || (*end && *end != '\n' && *end != '\r'))
        return false;
    while (*end == '\r' || *end == '\n')
        end++;
    *rest = end;
    return true;
}

/* AutoReplaceSMIME answer in responseFormat 0, 1 or 2. */
static bool parse_replace(const char *body, int format, long *code, char **message,
                          char **new_order)
{
    *message = *new_order = NULL;
    if (format == 2) {
        json_t *o = json_loads(body, 0, NULL);
        bool ok = o && mt_json_int(json_object_get(o, "errorCode"), code);
        json_t *num = json_object_get(o, "newOrderNumber");
        long n;
        if (ok && json_is_string(num))
            *new_order = strdup(json_string_value(num));
        else if (ok && mt_json_int(num, &n) && asprintf(new_order, "%ld", n) < 0)
            *new_order = NULL;
        if (ok && json_string_value(json_object_get(o, "errorMessage")))
            *message = strdup(json_string_value(json_object_get(o, "errorMessage")));
        json_decref(o);
        return ok;
    }
    if (format == 1) {
        bool have_code = false;
        char *copy = strdup(body), *save = NULL;
        for (char *kv = strtok_r(copy, "&\r\n", &save); kv; kv = strtok_r(NULL, "&\r\n", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                continue;
            *eq++ = '\0';
            if (strcmp(kv, "errorCode") == 0) {
                char *end;
                *code = strtol(eq, &end, 10);
                have_code = *eq && !*end;
            } else if (strcmp(kv, "newOrderNumber") == 0) {
                *new_order = strdup(eq);
            } else if (strcmp(kv, "errorMessage") == 0) {
                for (char *p = eq; *p; p++)
                    *p = *p == '+' ? ' ' : *p; /* enough for a message shown to a person */
                *message = strdup(eq);
            }
        }
        free(copy);
        return have_code;
    }
    const char *rest;
    if (!parse_lines(body, code, &rest))
        return false;
    char *line = first_line(rest);
    if (*code < 0)
        *message = line;
    else if (*line)
        *new_order = line;
    else
        free(line);
    return true;
}

static const char *original_order(json_t *dstate)
{
    return json_string_value(json_object_get(dstate, "order"));
}

static void replace(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, bool resend,
                    mt_drv_result *res)
{
    static const char *const keys[] = {"loginName",     "loginPassword",  "orderNumber", "csr",
                                       "signatureHash", "revokeOldOrder", "responseFormat"};
    const char *order = original_order(dstate);
    int format = (int)mt_opt_int(ctx->options, "response_format", 2);
    char fmt_text[8];
    snprintf(fmt_text, sizeof fmt_text, "%d", format);
    char *csr = mt_renew_csr_pem(r->csr_der, r->csr_der_len);
    const char *values[] = {NULL, NULL, order, csr,
                            mt_opt_str(ctx->options, "signature_hash", "REQUIRE_SHA2"), "N",
                            fmt_text};
    mt_http_response resp;
    long code = 0;
    char *message = NULL, *new_order = NULL;
    if (!order) {
        mt_drv_set(res, MT_DRV_REJECTED, "no Sectigo order number known for %s", r->email);
        goto out;
    }
    if (!post(ctx, "/!AutoReplaceSMIME", keys, values, 7, &resp, res))
        goto out;
    if (!parse_replace(resp.body, format, &code, &message, &new_order)) {
        mt_drv_set(res, MT_DRV_RETRY, "unreadable answer from Sectigo (HTTP %ld): the order "
                                      "may or may not exist; will look it up",
                   resp.status);
        goto out;
    }
    mt_drv_set_field(&r->ca_status, code == 0 ? "replaced" : "error");
    if (code == 0) {
        mt_drv_set_field(&r->order_ref, new_order ? new_order : order);
        mt_drv_set_field(&r->order_ref2, new_order ? order : NULL);
        mt_drv_set(res, MT_DRV_OK, "order %s accepted by Sectigo", new_order ? new_order : order);
    } else {
        map_code((int)code, message, res);
        if (code == -22 && resend) { /* 2.7: issuance runs on the original order */
            mt_drv_set_field(&r->order_ref, order);
            res->outcome = MT_DRV_OK;
        } else if (res->outcome == MT_DRV_WAIT || res->outcome == MT_DRV_RETRY) {
            res->outcome = MT_DRV_RETRY; /* the replacement was refused: nothing was ordered */
            res->not_sent = true;
        }
    }
out:
    free(csr);
    free(message);
    free(new_order);
    mt_http_response_clear(&resp);
}

static void submit(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res)
{
    replace(ctx, r, dstate, json_integer_value(json_object_get(dstate, "resends")) > 0, res);
}

/* Whole PEM blocks and nothing after the last one: a cut or garbled body
 * must never be read as a certificate chain (§8 C5). */
static bool pem_complete(const char *text)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    size_t n_begin = 0, n_end = 0;
    const char *last_end = NULL;
    for (const char *p = text; (p = strstr(p, begin)); p += sizeof begin - 1)
        n_begin++;
    for (const char *p = text; (p = strstr(p, end)); p += sizeof end - 1) {
        n_end++;
        last_end = p + sizeof end - 1;
    }
    if (n_begin == 0 || n_begin != n_end)
        return false;
    return last_end[strspn(last_end, " \t\r\n")] == '\0';
}

/* CollectSMIME on an order: status and certificates. */
static void collect(mt_drv_ctx *ctx, const char *order, int query, mt_drv_result *res)
{
    static const char *const keys[] = {"loginName", "loginPassword", "orderNumber",
                                       "queryType", "responseType",  "responseEncoding"};
    char q[8];
    snprintf(q, sizeof q, "%d", query);
    const char *values[] = {NULL, NULL, order, q, "3", "0"};
    mt_http_response resp;
    long code;
    const char *rest;
    if (!post(ctx, "/download/CollectSMIME", keys, values, 6, &resp, res))
        goto out;
    if (!parse_lines(resp.body, &code, &rest)) {
        mt_drv_set(res, MT_DRV_RETRY, "unreadable answer from Sectigo (HTTP %ld)",
                   resp.status);
        goto out;
    }
    if (code == 2 && !pem_complete(rest)) {
        mt_drv_set(res, MT_DRV_RETRY, "truncated answer from Sectigo");
    } else if (code == 2) {
        res->pem = strdup(rest);
        mt_drv_set(res, MT_DRV_ISSUED, "certificate collected from order %s", order);
    } else if (code == 0 || code == 1) {
        res->delay = -1;
        mt_drv_set(res, MT_DRV_WAIT, "order %s: being processed by Sectigo", order);
    } else {
        map_error_lines(code, rest, res);
    }
out:
    mt_http_response_clear(&resp);
}

static void poll(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res)
{
    (void)dstate;
    collect(ctx, r->order_ref, 1, res);
    mt_drv_set_field(&r->ca_status, res->outcome == MT_DRV_ISSUED ? "issued"
                                    : res->outcome == MT_DRV_WAIT ? "processing"
                                                                  : "error");
}

/* §2.7: the legacy API cannot search by attempt; the original order tells. */
static void reconcile(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res)
{
    const char *order = original_order(dstate);
    collect(ctx, order, 1, res);
    if (res->outcome == MT_DRV_WAIT) { /* the replacement is being processed */
        mt_drv_set_field(&r->order_ref, order);
        mt_drv_set(res, MT_DRV_OK, "order %s is being processed: collecting on it", order);
    } else if (res->outcome == MT_DRV_ISSUED) {
        /* Ours only if it carries the candidate key; the old certificate proves
         * the replacement never arrived. */
        bool ours = mt_renew_pem_has_key(res->pem, r->candidate_spki, r->candidate_spki_len);
        mt_drv_set_field(&r->order_ref, order);
        if (!ours) {
            free(res->pem);
            res->pem = NULL;
            mt_drv_set(res, MT_DRV_NO_ORDER, "order %s still carries the old certificate", order);
        }
    } else if (res->outcome == MT_DRV_ATTENTION && strstr(res->message, "-136")) {
        mt_drv_set(res, MT_DRV_ATTENTION,
                   "order %s was already replaced but the answer with the new order number was "
                   "lost: look the new order up in the Sectigo account",
                   order);
    }
}

static void revoke(mt_drv_ctx *ctx, mt_renewal *r, const mt_cert *old, json_t *dstate,
                   mt_drv_result *res)
{
    (void)r;
    (void)dstate;
    static const char *const keys[] = {"loginName", "loginPassword", "serialNumber",
                                       "codeReason", "revocationReason"};
    const char *values[] = {NULL, NULL, old->info->serial_hex, "4", "superseded by renewal"};
    mt_http_response resp;
    long code;
    const char *rest;
    if (!post(ctx, "/!autoRevokeCertificate", keys, values, 5, &resp, res))
        goto out;
    if (!parse_lines(resp.body, &code, &rest)) {
        mt_drv_set(res, MT_DRV_RETRY, "unreadable answer from Sectigo");
    } else if (code == 0 || code == -21 || code == -35) { /* done, already, expired */
        mt_drv_set(res, MT_DRV_OK, "old certificate %s revoked", old->info->serial_hex);
    } else {
        map_error_lines(code, rest, res);
    }
out:
    mt_http_response_clear(&resp);
}

/* CollectSMIME on an order that cannot exist: only the login is judged. */
static void test_auth(mt_drv_ctx *ctx, mt_drv_result *res)
{
    static const char *const keys[] = {"loginName", "loginPassword", "orderNumber", "queryType"};
    const char *values[] = {NULL, NULL, "0", "0"};
    mt_http_response resp;
    long code;
    const char *rest;
    if (!post(ctx, "/download/CollectSMIME", keys, values, 4, &resp, res))
        goto out;
    if (!parse_lines(resp.body, &code, &rest))
        mt_drv_set(res, MT_DRV_RETRY, "unreadable answer from Sectigo (HTTP %ld)", resp.status);
    else if (code == -16 || code == -42)
        map_error_lines(code, rest, res);
    else
        mt_drv_set(res, MT_DRV_OK, "login accepted by Sectigo");
out:
    mt_http_response_clear(&resp);
}

const mt_driver mt_driver_sectigo = {
    .kind = "sectigo",
    .check_options = NULL, /* no options it must have */
    .submit = submit,
    .poll = poll,
    .reconcile = reconcile,
    .revoke = revoke,
    .test_auth = test_auth,
};
