/* Beyond the managed-store API, in its style (docs/api.md, "Extensions"):
 * an account's PKCS#11 URI, the status, renewals, the audit trail.  Each is
 * the command line's own code (uri, status, renew, log) answering in JSON. */
#include "overview.h"
#include "renew/engine.h"
#include "renew/start.h"
#include "serve.h"
#include "uri.h"

#include <stdlib.h>
#include <string.h>

static const char *const RENEWAL_IDS[] = {"id", "oldCertificateId", "newCertificateId", NULL};
static const char *const EVENT_IDS[] = {"id", "organizationId", NULL};

void mt_api_account_uri(mt_api_request *req)
{
    mt_account *account = NULL;
    char *type = NULL, *text = NULL, label[33], serial[17];
    if (!mt_api_query(req, "type", &type))
        goto out;
    if (type && !mt_uri_type_valid(type)) {
        mt_api_error(req, 400, "type must be cert, private or public");
        goto out;
    }
    mt_status st = mt_store_account_get(req->store, req->org_id, req->params[0], &account);
    if (st == MT_OK)
        st = mt_uri_build(req->store, account, type, label, serial, &text);
    if (st == MT_OK)
        mt_api_reply(req, 200, mt_uri_json(account, text, label, serial));
    else
        mt_api_fail(req, st, NULL);
out:
    free(text);
    free(type);
    mt_account_free(account);
}

void mt_api_status(mt_api_request *req)
{
    static const char *const ORG_IDS[] = {"id", NULL};
    long long days = 30;
    mt_overview d = {0};
    if (!mt_api_query_number(req, "days", 0, 36500, &days))
        return;
    d.days = days;
    mt_status st = mt_overview_gather(req->store, req->key->org_name, &d);
    if (st != MT_OK) {
        mt_api_fail(req, st, "status");
        mt_overview_clear(&d);
        return;
    }
    json_t *obj = mt_overview_json(req->store, &d);
    /* The server's file system is none of the client's business. */
    json_object_del(json_object_get(obj, "store"), "path");
    mt_api_ids_as_strings(json_object_get(obj, "organization"), ORG_IDS);
    json_t *expiring = json_array();
    for (size_t i = 0; i < d.n_expiring; i++)
        json_array_append_new(expiring, mt_api_cert_json(d.expiring[i]));
    json_object_set_new(json_object_get(obj, "expiringSoon"), "certificates", expiring);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(json_object_get(obj, "renewals"), "active"), i, item)
        mt_api_ids_as_strings(item, RENEWAL_IDS);
    if (json_is_object(json_object_get(obj, "lastEvent")))
        mt_api_ids_as_strings(json_object_get(obj, "lastEvent"), EVENT_IDS);
    json_object_set_new(obj, "server", json_pack("{s:s}", "version", MT_VERSION_STRING));
    mt_api_reply(req, 200, obj);
    mt_overview_clear(&d);
}

static json_t *renewal_json(const mt_renewal *r)
{
    json_t *obj = mt_renewal_json(r);
    mt_api_ids_as_strings(obj, RENEWAL_IDS);
    return obj;
}

/* Starts the account's renewal and takes it as far as it goes now (as
 * `mailtoken renew EMAIL` does); its state says the rest. */
void mt_api_account_renew(mt_api_request *req)
{
    mt_renew_args args = {0};
    mt_renew_opts opts = {0};
    mt_renewal *r = NULL;
    int64_t id = 0;
    bool auth_failed = false;
    if (!mt_api_string(req, "ca", false, &args.ca, NULL) ||
        !mt_api_string(req, "key", false, &args.key, NULL) ||
        !mt_api_string(req, "orderNumber", false, &args.order, NULL) ||
        !mt_api_bool(req, "revokeOld", &args.revoke_old))
        return;
    mt_status st = mt_renew_start(req->store, req->org_id, req->params[0], &args, &id);
    if (st == MT_OK)
        st = mt_renew_run(req->store, req->server->config, id, &opts, &auth_failed);
    if (st == MT_OK)
        st = mt_store_renewal_get(req->store, id, &r);
    if (st != MT_OK) {
        mt_api_fail(req, st, NULL);
        return;
    }
    char escaped[800];
    mt_api_escape_segment(r->email, escaped, sizeof(escaped));
    mt_api_location(req, "renewals?email=%s", escaped);
    mt_api_reply(req, 201, renewal_json(r));
    mt_renewal_free(r);
}

void mt_api_renewals(mt_api_request *req)
{
    mt_renewal **list = NULL;
    size_t n = 0, limit = 0, offset = 0;
    char *email = NULL, *all = NULL;
    if (!mt_api_paging(req, &limit, &offset) || !mt_api_query(req, "email", &email) ||
        !mt_api_query(req, "all", &all))
        goto out;
    if (all && strcmp(all, "true") != 0 && strcmp(all, "false") != 0) {
        mt_api_error(req, 400, "all must be true or false");
        goto out;
    }
    mt_status st = mt_store_renewal_list(req->store, req->org_id, email,
                                         !(all && strcmp(all, "true") == 0), &list, &n);
    if (st != MT_OK) {
        mt_api_fail(req, st, "renewals");
        goto out;
    }
    json_t *items = json_array();
    for (size_t i = offset; i < n && i < offset + limit; i++)
        json_array_append_new(items, renewal_json(list[i]));
    mt_api_reply(req, 200, mt_api_list("renewals", items, limit, offset, n));
out:
    mt_renewal_list_free(list, n);
    free(email);
    free(all);
}

void mt_api_audit(mt_api_request *req)
{
    mt_event_query query = {.org_id = req->org_id};
    mt_event *events = NULL;
    size_t n = 0, total = 0;
    char *action = NULL, *email = NULL, *since = NULL;
    if (!mt_api_paging(req, &query.limit, &query.offset) ||
        !mt_api_query(req, "action", &action) || !mt_api_query(req, "email", &email) ||
        !mt_api_query(req, "since", &since))
        goto out;
    if (since && !mt_cli_parse_when(since, -1, &query.since)) {
        mt_api_error(req, 400, "since must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or an age (30m, "
                               "12h, 7d)");
        goto out;
    }
    query.action = action;
    query.subject = email;
    mt_status st = mt_store_event_list(req->store, &query, &events, &n);
    if (st == MT_OK)
        st = mt_store_event_count(req->store, &query, &total);
    if (st != MT_OK) {
        mt_api_fail(req, st, "audit");
        goto out;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = mt_json_event(&events[i]);
        mt_api_ids_as_strings(e, EVENT_IDS);
        json_array_append_new(items, e);
    }
    mt_api_reply(req, 200, mt_api_list("events", items, query.limit, query.offset, total));
out:
    mt_event_list_free(events, n);
    free(action);
    free(email);
    free(since);
}
