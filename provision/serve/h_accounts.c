/* email-accounts: create, list, get, delete, set-primary, add-to-history.
 * The rules (and their words) are the store's, as for `mailtoken account`. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HISTORY 1000

/* Answers 200 with the account as it is now. */
static void reply_account(mt_api_request *req, const char *email, unsigned status)
{
    mt_account *account = NULL;
    mt_status st = mt_store_account_get(req->store, req->org_id, email, &account);
    if (st == MT_OK)
        mt_api_reply(req, status, mt_api_account_json(account));
    else
        mt_api_fail(req, st, "email");
    mt_account_free(account);
}

/* certificateHistory: an array of certificate ids; absent: the primary alone. */
static bool history_ids(mt_api_request *req, int64_t primary, int64_t **ids, size_t *n)
{
    json_t *history = json_object_get(req->body, "certificateHistory");
    if (!history || json_is_null(history)) {
        if (!(*ids = malloc(sizeof(**ids)))) {
            mt_api_fail(req, MT_ERR_NOMEM, "certificateHistory");
            return false;
        }
        (*ids)[(*n)++] = primary;
        return true;
    }
    if (!json_is_array(history)) {
        mt_api_error(req, 400, "certificateHistory must be an array of certificate ids");
        return false;
    }
    if (json_array_size(history) > MAX_HISTORY) {
        mt_api_error(req, 400, "certificateHistory: more than %d certificates", MAX_HISTORY);
        return false;
    }
    *ids = calloc(json_array_size(history) + 1, sizeof(**ids));
    if (!*ids) {
        mt_api_fail(req, MT_ERR_NOMEM, "certificateHistory");
        return false;
    }
    size_t i;
    json_t *item;
    json_array_foreach(history, i, item)
    {
        char field[48];
        snprintf(field, sizeof(field), "certificateHistory[%zu]", i);
        if (!json_is_string(item)) {
            mt_api_error(req, 400, "%s must be a string (a certificate id)", field);
            return false;
        }
        if (!mt_api_cert_id(req, field, json_string_value(item), &(*ids)[*n]))
            return false;
        (*n)++;
    }
    return true;
}

void mt_api_account_create(mt_api_request *req)
{
    const char *email = NULL, *primary_ref = NULL;
    int64_t primary = 0, *history = NULL;
    size_t n_history = 0;
    char escaped[800];
    if (!mt_api_string(req, "email", true, &email, NULL) ||
        !mt_api_string(req, "primaryCertificateId", true, &primary_ref, NULL) ||
        !mt_api_cert_id(req, "primaryCertificateId", primary_ref, &primary) ||
        !history_ids(req, primary, &history, &n_history))
        goto out;
    mt_api_write_lock(req->server);
    mt_status st =
        mt_store_account_create(req->store, req->org_id, email, primary, history, n_history);
    mt_api_write_unlock(req->server);
    if (st != MT_OK) {
        mt_api_fail(req, st, NULL);
        goto out;
    }
    mt_api_escape_segment(email, escaped, sizeof(escaped));
    mt_api_location(req, "email-accounts/%s", escaped);
    reply_account(req, email, 201);
out:
    free(history);
}

void mt_api_account_list(mt_api_request *req)
{
    mt_account **accounts = NULL;
    size_t n = 0, total = 0, limit = 0, offset = 0;
    if (!mt_api_paging(req, &limit, &offset))
        return;
    mt_status st = mt_store_account_list(req->store, req->org_id, limit, offset, &accounts, &n,
                                         &total);
    if (st != MT_OK) {
        mt_api_fail(req, st, "email-accounts");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, mt_api_account_json(accounts[i]));
    mt_api_reply(req, 200, mt_api_list("accounts", items, limit, offset, total));
    mt_account_list_free(accounts, n);
}

void mt_api_account_get(mt_api_request *req)
{
    reply_account(req, req->params[0], 200);
}

void mt_api_account_delete(mt_api_request *req)
{
    char *purge = NULL;
    if (!mt_api_query(req, "purge", &purge))
        return;
    bool yes = purge && strcmp(purge, "true") == 0;
    if (purge && !yes && strcmp(purge, "false") != 0) {
        mt_api_error(req, 400, "purge must be true or false");
        free(purge);
        return;
    }
    free(purge);
    mt_api_write_lock(req->server);
    mt_status st = mt_store_account_delete(req->store, req->org_id, req->params[0], yes);
    mt_api_write_unlock(req->server);
    if (st == MT_OK)
        mt_api_reply(req, 204, NULL);
    else
        mt_api_fail(req, st, NULL);
}

static void change(mt_api_request *req, bool set_primary)
{
    const char *email = req->params[0];
    int64_t cert_id = 0;
    if (!mt_api_cert_id(req, "certificateId", req->params[1], &cert_id))
        return;
    mt_api_write_lock(req->server);
    mt_status st = set_primary
                       ? mt_store_account_set_primary(req->store, req->org_id, email, cert_id)
                       : mt_store_account_add_to_history(req->store, req->org_id, email, cert_id);
    mt_api_write_unlock(req->server);
    if (st == MT_OK)
        reply_account(req, email, 200);
    else
        mt_api_fail(req, st, NULL);
}

void mt_api_account_set_primary(mt_api_request *req)
{
    change(req, true);
}

void mt_api_account_add_to_history(mt_api_request *req)
{
    change(req, false);
}
