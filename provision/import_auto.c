/* `cert import --account auto`: onboarding a user is one command. */
#include "import.h"

#include <string.h>

/* Newer: issued later (then: valid longer). */
static bool is_newer(const mt_cert_info *candidate, const mt_cert_info *current)
{
    if (candidate->not_before != current->not_before)
        return candidate->not_before > current->not_before;
    return candidate->not_after > current->not_after;
}

static bool in_history(const mt_account *account, int64_t cert_id)
{
    for (size_t i = 0; i < account->n_history; i++) {
        if (account->history[i] == cert_id)
            return true;
    }
    return false;
}

/* Whether the certificate should replace the account's primary: it is newer,
 * and an account that signs never loses its key to a public-only certificate. */
static mt_status should_be_primary(mt_store *store, const mt_account *account, int64_t cert_id,
                                   const mt_cert_info *info, bool has_key, bool *out)
{
    mt_cert *primary = NULL;
    *out = false;
    if (account->primary_cert_id == cert_id || (account->internal && !has_key))
        return MT_OK;
    mt_status st = mt_store_cert_get(store, account->primary_cert_id, &primary);
    if (st == MT_OK)
        *out = is_newer(info, primary->info);
    mt_cert_free(primary);
    return st;
}

static mt_status update_account(mt_store *store, int64_t org_id, const char *email,
                                int64_t cert_id, const mt_cert_info *info, bool has_key,
                                json_t *record)
{
    mt_account *account = NULL;
    bool make_primary = false;
    mt_status st = mt_store_account_get(store, org_id, email, &account);
    if (st == MT_ERR_NOT_FOUND) {
        st = mt_store_account_create(store, org_id, email, cert_id, &cert_id, 1);
        json_object_set_new(record, "created", json_true());
        json_object_set_new(record, "addedToHistory", json_true());
        json_object_set_new(record, "madePrimary", json_true());
        goto out;
    }
    if (st != MT_OK)
        goto out;
    bool add = !in_history(account, cert_id);
    if (add)
        st = mt_store_account_add_to_history(store, org_id, email, cert_id);
    if (st == MT_OK)
        st = should_be_primary(store, account, cert_id, info, has_key, &make_primary);
    if (st == MT_OK && make_primary)
        st = mt_store_account_set_primary(store, org_id, email, cert_id);
    json_object_set_new(record, "created", json_false());
    json_object_set_new(record, "addedToHistory", json_boolean(add));
    json_object_set_new(record, "madePrimary", json_boolean(make_primary));
out:
    mt_account_free(account);
    return st;
}

mt_status mt_import_auto_accounts(mt_store *store, int64_t org_id, int64_t cert_id,
                                  const mt_cert_info *info, bool has_key, json_t *accounts)
{
    mt_status st = MT_OK;
    for (size_t i = 0; i < info->n_emails && st == MT_OK; i++) {
        json_t *record = json_object();
        json_object_set_new(record, "email", json_string(info->emails[i]));
        json_object_set_new(record, "certificateId", json_integer(cert_id));
        st = update_account(store, org_id, info->emails[i], cert_id, info, has_key, record);
        json_array_append_new(accounts, record);
    }
    return st;
}
