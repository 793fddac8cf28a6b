/*
 * Sectigo legacy reseller API: !AutoReplaceSMIME, download/CollectSMIME,
 * !autoRevokeCertificate (ca-protocols.md §2).  Orders that exist before
 * the renewal come from --order NUM:EMAIL[:SERIAL].
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum order_state { ORDER_ISSUED, ORDER_PENDING, ORDER_REPLACED, ORDER_REVOKED };

typedef struct order {
    char number[32];
    char email[256];
    enum order_state state;
    char *csr;
    char *cert_pem;
    char *serial;      /* lower-case hex of the certificate's serial */
    char *old_serial;  /* the certificate the order carried before a replacement */
    char *revoked_serial; /* old_serial once revoked */
    int polls_left;
} order;

static order orders[256];
static size_t n_orders;
static bool loaded;
static unsigned long next_number = 2000001;

static void load_orders(sim *s)
{
    if (loaded)
        return;
    loaded = true;
    for (size_t i = 0; i < s->n_orders_spec && n_orders < 256; i++) {
        order *o = &orders[n_orders++];
        char serial[128] = "";
        sscanf(s->orders_spec[i], "%31[^:]:%255[^:]:%127s", o->number, o->email, serial);
        o->state = ORDER_ISSUED;
        o->serial = serial[0] ? strdup(serial) : NULL;
    }
}

static order *find_order(const char *number)
{
    for (size_t i = 0; number && i < n_orders; i++)
        if (strcmp(orders[i].number, number) == 0)
            return &orders[i];
    return NULL;
}

static order *find_serial(const char *serial)
{
    for (size_t i = 0; serial && i < n_orders; i++) {
        if (orders[i].serial && strcasecmp(orders[i].serial, serial) == 0)
            return &orders[i];
        if (orders[i].old_serial && strcasecmp(orders[i].old_serial, serial) == 0)
            return &orders[i];
        if (orders[i].revoked_serial && strcasecmp(orders[i].revoked_serial, serial) == 0)
            return &orders[i];
    }
    return NULL;
}

/* Replies in responseFormat 0 (lines), 1 (form) or 2 (JSON). */
static void reply(sim_response *resp, int format, int code, const char *message,
                  const char *new_order)
{
    resp->status = 200;
    if (format == 2) {
        char *m = sim_json_escape(message ? message : "");
        resp->content_type = "application/json";
        sim_buf_printf(&resp->body, "{\"errorCode\":%d", code);
        if (code != 0)
            sim_buf_printf(&resp->body, ",\"errorMessage\":\"%s\"", m);
        if (new_order)
            sim_buf_printf(&resp->body, ",\"newOrderNumber\":\"%s\"", new_order);
        sim_buf_add(&resp->body, "}", 1);
        free(m);
    } else if (format == 1) {
        resp->content_type = "application/x-www-form-urlencoded";
        sim_buf_printf(&resp->body, "errorCode=%d", code);
        if (code != 0) {
            sim_buf_add(&resp->body, "&errorMessage=", 14);
            for (const char *p = message; p && *p; p++)
                if (*p == ' ')
                    sim_buf_add(&resp->body, "+", 1);
                else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                         (*p >= '0' && *p <= '9'))
                    sim_buf_add(&resp->body, p, 1);
                else
                    sim_buf_printf(&resp->body, "%%%02X", (unsigned char)*p);
        }
        if (new_order)
            sim_buf_printf(&resp->body, "&newOrderNumber=%s", new_order);
    } else {
        resp->content_type = "text/plain";
        sim_buf_printf(&resp->body, "%d\n", code);
        if (code != 0)
            sim_buf_printf(&resp->body, "%s\n", message);
        else if (new_order)
            sim_buf_printf(&resp->body, "%s\n", new_order);
    }
}

static const char *const replace_params[] = {
    "loginName", "loginPassword", "orderNumber", "csr", "signatureHash", "caCertificateID",
    "revokeOldOrder", "responseFormat", "languageName", "SMIMEVerificationTemplateID",
    "SMIMERequestTemplateID", "SMIMECollectionTemplateID", NULL};
static const char *const collect_params[] = {
    "loginName", "loginPassword", "orderNumber", "queryType", "responseType",
    "responseEncoding", "responseMimeType", "showValidityPeriod", NULL};
static const char *const revoke_params[] = {
    "loginName", "loginPassword", "orderNumber", "certificateID", "serialNumber",
    "revocationReason", "codeReason", "includeInCRL", "test", "accountID", "responseFormat",
    NULL};

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcasecmp(*list, key) == 0)
            return true;
    return false;
}

/* The checks every endpoint makes, in the order the service makes them:
 * method, unknown argument, login.  Returns 0 or the error code. */
static int common_checks(sim *s, const sim_request *req, const sim_form *form,
                         const char *const *allowed, const char **message)
{
    static char text[256];
    if (strcmp(req->method, "POST") != 0) {
        *message = "Request used GET rather than POST!";
        return -17;
    }
    for (size_t i = 0; i < form->n; i++)
        if (!in_list(allowed, form->keys[i])) {
            *message = "Unrecognized argument!";
            return -2;
        }
    const char *login = sim_form_get(form, "loginName");
    const char *pass = sim_form_get(form, "loginPassword");
    const char *missing = !login ? "loginName" : !pass ? "loginPassword" : NULL;
    if (missing) {
        snprintf(text, sizeof text, "The '%s' argument is missing!", missing);
        *message = text;
        return -3;
    }
    if (strcmp(login, s->login) != 0 || strcmp(pass, s->password) != 0) {
        *message = "Incorrect login details, account is locked, password has expired or your "
                   "source IP is blocked.";
        return -16;
    }
    return 0;
}

static int missing_or_invalid(const char *name, bool missing, const char **message)
{
    static char text[256];
    snprintf(text, sizeof text, missing ? "The '%s' argument is missing!"
                                        : "The value of the '%s' argument is invalid!",
             name);
    *message = text;
    return missing ? -3 : -4;
}

static void replace(sim *s, const sim_request *req, const sim_form *form, sim_response *resp)
{
    const char *message = NULL, *fmt_text = sim_form_get(form, "responseFormat");
    int format = fmt_text ? atoi(fmt_text) : 0;
    int code = common_checks(s, req, form, replace_params, &message);
    const char *number = sim_form_get(form, "orderNumber"), *csr = sim_form_get(form, "csr");
    const char *hash = sim_form_get(form, "signatureHash");
    const char *revoke = sim_form_get(form, "revokeOldOrder");
    char new_number[32] = "";
    order *o = NULL;
    if (fmt_text && strcmp(fmt_text, "0") && strcmp(fmt_text, "1") && strcmp(fmt_text, "2")) {
        format = 0;
        code = code ? code : missing_or_invalid("responseFormat", false, &message);
    }
    if (code)
        goto out;
    if (!number || !csr) {
        code = missing_or_invalid(!number ? "orderNumber" : "csr", true, &message);
        goto out;
    }
    if (hash && strcmp(hash, "NO_PREFERENCE") && strcmp(hash, "INFER_FROM_CSR") &&
        strcmp(hash, "PREFER_SHA2") && strcmp(hash, "REQUIRE_SHA2")) {
        code = missing_or_invalid("signatureHash", false, &message);
        goto out;
    }
    if (revoke && strcmp(revoke, "Y") && strcmp(revoke, "N")) {
        code = missing_or_invalid("revokeOldOrder", false, &message);
        goto out;
    }
    o = find_order(number);
    if (!o) {
        code = missing_or_invalid("orderNumber", false, &message);
        goto out;
    }
    switch (o->state) {
    case ORDER_PENDING:
        code = -22, message = "The certificate is currently being issued!";
        goto out;
    case ORDER_REVOKED:
        code = -20, message = "The Certificate has been Revoked!";
        goto out;
    case ORDER_REPLACED:
        code = -136, message = "Wrong certificate state";
        goto out;
    case ORDER_ISSUED:
        break;
    }
    char *cert = NULL, *serial = NULL;
    code = sim_issue(s, csr, o->email, "submit", &cert, &serial);
    if (code) {
        if (code == -13)
            message = "The CSR uses an unsupported key size!";
        else
            missing_or_invalid("csr", false, &message);
        goto out;
    }
    order *target = o;
    if (!s->replace_in_place && n_orders < 256) {
        target = &orders[n_orders++];
        memset(target, 0, sizeof *target);
        snprintf(target->number, sizeof target->number, "%lu", next_number++);
        snprintf(target->email, sizeof target->email, "%s", o->email);
        o->state = ORDER_REPLACED;
        snprintf(new_number, sizeof new_number, "%s", target->number);
    }
    free(target->old_serial);
    target->old_serial = target->serial;
    free(target->csr);
    free(target->cert_pem);
    target->csr = strdup(csr);
    target->cert_pem = cert;
    target->serial = serial;
    target->polls_left = s->pending_polls;
    target->state = ORDER_PENDING;
    s->orders++;
out:
    reply(resp, format, code, message, new_number[0] ? new_number : NULL);
}

static void collect(sim *s, const sim_request *req, const sim_form *form, sim_response *resp)
{
    const char *message = NULL;
    int code = common_checks(s, req, form, collect_params, &message);
    const char *number = sim_form_get(form, "orderNumber");
    const char *qt = sim_form_get(form, "queryType");
    resp->status = 200;
    resp->content_type = "text/plain";
    order *o = NULL;
    if (code)
        goto fail;
    if (!number || !qt) {
        code = missing_or_invalid(!number ? "orderNumber" : "queryType", true, &message);
        goto fail;
    }
    int query = atoi(qt);
    o = find_order(number);
    if (!o || query < 0 || query > 3) {
        code = missing_or_invalid(!o ? "orderNumber" : "queryType", false, &message);
        goto fail;
    }
    if (o->state == ORDER_REVOKED) {
        code = -20, message = "The Certificate has been Revoked!";
        goto fail;
    }
    if (o->state == ORDER_REPLACED) {
        code = -136, message = "Wrong certificate state";
        goto fail;
    }
    if (o->state == ORDER_PENDING && o->polls_left > 0) {
        o->polls_left--;
        sim_buf_printf(&resp->body, "0\n");
        return;
    }
    o->state = ORDER_ISSUED;
    if (!o->cert_pem) { /* an order placed before the simulator started: keep its serial */
        char *serial = NULL;
        sim_issue_placeholder(s, o->email, &o->cert_pem, &serial);
        if (!o->serial)
            o->serial = serial;
        else
            free(serial);
    }
    if (query == 0) {
        sim_buf_printf(&resp->body, "1\n");
        return;
    }
    /* Issuing CA first, the leaf after it: clients must find the leaf by key.
     * no_cert: "issued", with the chain only. */
    bool leaf = query != 3 && !sim_fault_take(s, "no_cert", "collect", NULL);
    sim_buf_printf(&resp->body, "2\n%s%s", query != 2 ? s->ca_chain_pem : "",
                   leaf ? o->cert_pem : "");
    return;
fail:
    sim_buf_printf(&resp->body, "%d\n%s\n", code, message);
}

static void revoke(sim *s, const sim_request *req, const sim_form *form, sim_response *resp)
{
    const char *message = NULL;
    int code = common_checks(s, req, form, revoke_params, &message);
    const char *number = sim_form_get(form, "orderNumber");
    const char *serial = sim_form_get(form, "serialNumber");
    resp->status = 200;
    resp->content_type = "text/plain";
    if (code)
        goto out;
    if (!number && !serial) {
        code = missing_or_invalid("orderNumber", true, &message);
        goto out;
    }
    order *o = number ? find_order(number) : find_serial(serial);
    if (!o) {
        code = missing_or_invalid(number ? "orderNumber" : "serialNumber", false, &message);
        goto out;
    }
    if (serial && o->old_serial && strcasecmp(o->old_serial, serial) == 0) {
        free(o->revoked_serial); /* the replaced certificate: revoked, the order lives on */
        o->revoked_serial = o->old_serial;
        o->old_serial = NULL;
    } else if (o->state == ORDER_REVOKED ||
               (serial && o->revoked_serial && strcasecmp(o->revoked_serial, serial) == 0)) {
        code = -21, message = "The certificate has already been revoked!";
        goto out;
    } else {
        o->state = ORDER_REVOKED;
    }
    s->revocations++;
out:
    if (code)
        sim_buf_printf(&resp->body, "%d\n%s\n", code, message);
    else
        sim_buf_printf(&resp->body, "0\n");
}

static const char *classify(const sim_request *req)
{
    if (strcmp(req->url, "/products/!AutoReplaceSMIME") == 0)
        return "submit";
    if (strcmp(req->url, "/products/download/CollectSMIME") == 0)
        return "collect";
    if (strcmp(req->url, "/products/!autoRevokeCertificate") == 0)
        return "revoke";
    return "other";
}

static void handle(sim *s, const sim_request *req, sim_response *resp)
{
    load_orders(s);
    sim_form form;
    sim_form_parse(req->body, &form);
    const char *op = classify(req);
    if (strcmp(op, "submit") == 0)
        replace(s, req, &form, resp);
    else if (strcmp(op, "collect") == 0)
        collect(s, req, &form, resp);
    else if (strcmp(op, "revoke") == 0)
        revoke(s, req, &form, resp);
    else {
        resp->status = 404;
        resp->content_type = "text/html";
        sim_buf_printf(&resp->body, "<html>Not Found</html>");
    }
    sim_form_free(&form);
}

static void rate_limited(sim *s, const sim_request *req, sim_response *resp)
{
    (void)s;
    sim_form form;
    sim_form_parse(req->body, &form);
    const char *f = sim_form_get(&form, "responseFormat");
    bool replace_call = strcmp(classify(req), "submit") == 0;
    reply(resp, replace_call && f ? atoi(f) : 0, -42, "Call limit reached! Please try again later",
          NULL);
    sim_form_free(&form);
}

const sim_protocol sim_sectigo = {
    .kind = "sectigo",
    .classify = classify,
    .handle = handle,
    .rate_limited = rate_limited,
};
