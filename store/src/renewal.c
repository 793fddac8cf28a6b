/* Renewals: the persistent state of each CA renewal (the drivers live elsewhere). */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
    [MT_RENEWAL_PLANNED] = "planned",
    [MT_RENEWAL_KEY_READY] = "key-ready",
    [MT_RENEWAL_CSR_READY] = "csr-ready",
    [MT_RENEWAL_SUBMIT_INTENT] = "submit-intent",
    [MT_RENEWAL_SUBMITTED] = "submitted",
    [MT_RENEWAL_PENDING] = "pending",
    [MT_RENEWAL_FETCHED] = "fetched",
    [MT_RENEWAL_INSTALLED] = "installed",
    [MT_RENEWAL_REVOKE_PENDING] = "revoke-pending",
    [MT_RENEWAL_DONE] = "done",
    [MT_RENEWAL_NEEDS_ATTENTION] = "needs-attention",
    [MT_RENEWAL_FAILED] = "failed",
    [MT_RENEWAL_CANCELLED] = "cancelled",
};

#define N_STATES ((int)(sizeof(state_names) / sizeof(state_names[0])))

const char *mt_renewal_state_name(mt_renewal_state state)
{
    return (int)state >= 0 && (int)state < N_STATES ? state_names[state] : "unknown";
}

bool mt_renewal_state_is_active(mt_renewal_state state)
{
    return state != MT_RENEWAL_DONE && state != MT_RENEWAL_FAILED && state != MT_RENEWAL_CANCELLED;
}

#define RENEWAL_COLS                                                                            \
    "id, org_id, email, ca_name, key_spec, revoke_old, state, old_cert_id, new_cert_id,"        \
    " candidate_spki, csr_der, attempt_id, order_ref, order_ref2, ca_status, cert_der,"          \
    " chain_pem, attempts, next_attempt_at, last_error, driver_state, created_at, updated_at"

void mt_renewal_free(mt_renewal *r)
{
    if (!r)
        return;
    free(r->email);
    free(r->ca_name);
    free(r->key_spec);
    free(r->candidate_spki);
    free(r->csr_der);
    free(r->attempt_id);
    free(r->order_ref);
    free(r->order_ref2);
    free(r->ca_status);
    free(r->cert_der);
    free(r->chain_pem);
    free(r->last_error);
    free(r->driver_state);
    free(r);
}

void mt_renewal_list_free(mt_renewal **renewals, size_t n)
{
    for (size_t i = 0; renewals && i < n; i++)
        mt_renewal_free(renewals[i]);
    free(renewals);
}

static mt_status renewal_read(mt_stmt *stmt, mt_renewal **out)
{
    mt_renewal *r = calloc(1, sizeof(*r));
    if (!r)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    r->id = mt_col_int64(stmt, 0);
    r->org_id = mt_col_int64(stmt, 1);
    r->email = mt_col_text(stmt, 2);
    r->ca_name = mt_col_text(stmt, 3);
    r->key_spec = mt_col_text(stmt, 4);
    r->revoke_old = mt_col_int(stmt, 5) != 0;
    r->state = (mt_renewal_state)mt_col_int(stmt, 6);
    r->old_cert_id = mt_col_int64(stmt, 7);
    r->new_cert_id = mt_col_int64(stmt, 8);
    r->candidate_spki = mt_col_blob(stmt, 9, &r->candidate_spki_len);
    r->csr_der = mt_col_blob(stmt, 10, &r->csr_der_len);
    r->attempt_id = mt_col_text(stmt, 11);
    r->order_ref = mt_col_text(stmt, 12);
    r->order_ref2 = mt_col_text(stmt, 13);
    r->ca_status = mt_col_text(stmt, 14);
    r->cert_der = mt_col_blob(stmt, 15, &r->cert_der_len);
    r->chain_pem = mt_col_text(stmt, 16);
    r->attempts = (unsigned)mt_col_int(stmt, 17);
    r->next_attempt_at = mt_col_int64(stmt, 18);
    r->last_error = mt_col_text(stmt, 19);
    r->driver_state = mt_col_text(stmt, 20);
    r->created_at = mt_col_int64(stmt, 21);
    r->updated_at = mt_col_int64(stmt, 22);
    if (!r->email || !r->ca_name || !r->key_spec || !r->driver_state) {
        mt_renewal_free(r);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    *out = r;
    return MT_OK;
}

/* Every row of a prepared renewal query (bindings done by the caller). */
static mt_status renewal_rows(mt_store *store, mt_stmt *stmt, mt_renewal ***out, size_t *n)
{
    mt_renewal **list = NULL;
    size_t count = 0;
    int rc = MT_DONE;
    mt_status st = MT_OK;
    while ((rc = mt_step(stmt)) == MT_ROW) {
        mt_renewal **grown = realloc(list, (count + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        list = grown;
        if ((st = renewal_read(stmt, &list[count])) != MT_OK)
            break;
        count++;
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "reading renewals");
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_renewal_list_free(list, count);
        return st;
    }
    *out = list;
    *n = count;
    return MT_OK;
}

static mt_status renewal_single(mt_store *store, mt_stmt *stmt, const char *missing, mt_renewal **out)
{
    mt_renewal **list = NULL;
    size_t n = 0;
    mt_status st = renewal_rows(store, stmt, &list, &n);
    if (st == MT_OK && n == 0)
        st = mt_fail(MT_ERR_NOT_FOUND, "%s", missing);
    if (st == MT_OK) {
        *out = list[0];
        list[0] = NULL;
    }
    mt_renewal_list_free(list, n);
    return st;
}

mt_status mt_store_renewal_get(mt_store *store, int64_t renewal_id, mt_renewal **out)
{
    mt_stmt *stmt = NULL;
    char missing[64];
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = mt_db_stmt(store, "SELECT " RENEWAL_COLS " FROM renewals WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, renewal_id);
    snprintf(missing, sizeof(missing), "renewal %lld not found", (long long)renewal_id);
    return renewal_single(store, stmt, missing, out);
}

mt_status mt_store_renewal_get_active(mt_store *store, int64_t org_id, const char *email, mt_renewal **out)
{
    mt_stmt *stmt = NULL;
    char *lower = NULL;
    char missing[320];
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st == MT_OK)
        st = mt_db_stmt(store, "SELECT " RENEWAL_COLS " FROM renewals WHERE org_id = ? AND email = ? AND active <> 0", &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, org_id);
        mt_bind_text(stmt, 2, lower);
        snprintf(missing, sizeof(missing), "%s has no active renewal", lower);
        st = renewal_single(store, stmt, missing, out);
    }
    free(lower);
    return st;
}

mt_status mt_store_renewal_list(mt_store *store, int64_t org_id, const char *email,
                                 bool active_only, mt_renewal ***out, size_t *n)
{
    mt_stmt *stmt = NULL;
    char *lower = NULL;
    if (!store || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = email ? mt_email_normalize("email", email, &lower) : MT_OK;
    if (st == MT_OK)
        st = mt_db_stmt(store,
                        "SELECT " RENEWAL_COLS " FROM renewals WHERE org_id = ?1"
                        " AND (?2 IS NULL OR email = ?2) AND (?3 = 0 OR active <> 0) ORDER BY id",
                        &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, org_id);
        mt_bind_text_or_null(stmt, 2, lower);
        mt_bind_int(stmt, 3, active_only);
        st = renewal_rows(store, stmt, out, n);
    }
    free(lower);
    return st;
}

static bool key_spec_known(const char *spec)
{
    static const char *const specs[] = {"rsa2048", "rsa3072", "ec-p256", "ec-p384"};
    for (size_t i = 0; spec && i < sizeof(specs) / sizeof(specs[0]); i++)
        if (!strcmp(spec, specs[i]))
            return true;
    return false;
}

/* Account's primary (404 when no account) and the CA profile's existence. */
static mt_status renewal_prerequisites(mt_store *store, int64_t org_id, const char *email,
                                       const char *ca_name, int64_t *primary)
{
    mt_account *account = NULL;
    mt_ca_profile *profile = NULL;
    mt_status st = mt_store_account_get(store, org_id, email, &account);
    if (st == MT_OK)
        st = mt_store_ca_get(store, org_id, ca_name, &profile);
    if (st == MT_OK)
        *primary = account->primary_cert_id;
    mt_account_free(account);
    mt_ca_profile_free(profile);
    return st;
}

mt_status mt_store_renewal_create(mt_store *store, int64_t org_id, const char *email,
                                  const char *ca_name, const char *key_spec, bool revoke_old,
                                  int64_t *renewal_id)
{
    mt_stmt *stmt = NULL;
    char *lower = NULL;
    int64_t primary = 0, id = 0;
    char detail[512], escaped[256];
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = mt_email_normalize("email", email, &lower);
    if (st == MT_OK)
        st = mt_check_text("ca", ca_name, 100, true);
    if (st == MT_OK && !key_spec_known(key_spec))
        st = mt_fail(MT_ERR_INVALID, "key must be rsa2048, rsa3072, ec-p256 or ec-p384, not \"%s\"",
                     key_spec ? key_spec : "");
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        goto done;
    if ((st = renewal_prerequisites(store, org_id, lower, ca_name, &primary)) != MT_OK)
        goto out;
    st = mt_db_stmt(store,
                    "INSERT INTO renewals (org_id, email, ca_name, key_spec, revoke_old, state, active,"
                    " old_cert_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    &stmt);
    if (st != MT_OK)
        goto out;
    int64_t now = mt_now();
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, lower);
    mt_bind_text(stmt, 3, ca_name);
    mt_bind_text(stmt, 4, key_spec);
    mt_bind_int(stmt, 5, revoke_old);
    mt_bind_int(stmt, 6, MT_RENEWAL_PLANNED);
    mt_bind_int64(stmt, 7, primary);
    mt_bind_int64(stmt, 8, now);
    mt_bind_int64(stmt, 9, now);
    st = mt_db_step_done(store, stmt, "creating the renewal");
    mt_db_done(stmt);
    if (st == MT_ERR_CONFLICT) {
        st = mt_fail(MT_ERR_CONFLICT, "%s already has an active renewal", lower);
        goto out;
    }
    if (st != MT_OK)
        goto out;
    id = mt_db_last_id(store);
    mt_json_escape(ca_name, escaped, sizeof(escaped));
    snprintf(detail, sizeof(detail), "{\"renewal\":%lld,\"ca\":\"%s\",\"key\":\"%s\",\"revokeOld\":%s}",
             (long long)id, escaped, key_spec, revoke_old ? "true" : "false");
    st = mt_event_add(store, org_id, "renewal.planned", lower, detail);
out:
    st = mt_tx_end(store, st);
    if (st == MT_OK && renewal_id)
        *renewal_id = id;
done:
    free(lower);
    return st;
}

static mt_status validate_update(const mt_renewal *r)
{
    if ((int)r->state < 0 || (int)r->state >= N_STATES)
        return mt_fail(MT_ERR_INVALID, "state %d is not a renewal state", (int)r->state);
    mt_status st = mt_check_text("attempt_id", r->attempt_id, 200, false);
    if (st == MT_OK)
        st = mt_check_text("order_ref", r->order_ref, 500, false);
    if (st == MT_OK)
        st = mt_check_text("order_ref2", r->order_ref2, 500, false);
    if (st == MT_OK)
        st = mt_check_text("ca_status", r->ca_status, 2000, false);
    if (st == MT_OK)
        st = mt_check_text("chain_pem", r->chain_pem, MT_MAX_INPUT_SIZE, false);
    if (st == MT_OK)
        st = mt_check_text("last_error", r->last_error, 8000, false);
    if (st == MT_OK)
        st = mt_check_text("driver_state", r->driver_state, 65536, false);
    return st;
}

static const char *const UPDATE_SQL =
    "UPDATE renewals SET state = ?2, active = ?3, csr_der = ?4, attempt_id = ?5, order_ref = ?6,"
    " order_ref2 = ?7, ca_status = ?8, cert_der = ?9, chain_pem = ?10, attempts = ?11,"
    " next_attempt_at = ?12, last_error = ?13, driver_state = ?14, updated_at = ?15"
    " WHERE id = ?1 RETURNING org_id, email";

/* What the audit trail keeps of an update: each change of state once, and a
 * run of failed attempts as its first failure plus, with the next change of
 * state, how many there were.  Polls that change nothing, and the
 * CSR-ready/submit-intent round of each retry, are not recorded: one renewal
 * through a day of CA outage is a handful of events, not hundreds. */
static bool event_worth_it(const mt_renewal *r, mt_renewal_state old_state, unsigned old_attempts,
                           const char **action)
{
    bool stopped = !mt_renewal_state_is_active(r->state) || r->state == MT_RENEWAL_NEEDS_ATTENTION;
    *action = mt_renewal_state_name(r->state);
    if (r->attempts > old_attempts && !stopped) { /* a failed attempt, to be tried again */
        *action = "retrying";
        return old_attempts == 0;
    }
    if (r->state == old_state)
        return false;
    /* the order resent after a refusal: CSR-ready and submit-intent again */
    return !(r->attempts > 0 &&
             (r->state == MT_RENEWAL_CSR_READY || r->state == MT_RENEWAL_SUBMIT_INTENT));
}

static mt_status read_progress(mt_store *store, int64_t id, mt_renewal_state *state, unsigned *attempts)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT state, attempts FROM renewals WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, id);
    if ((st = mt_db_step_row(store, stmt, "reading the renewal", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "renewal %lld not found", (long long)id);
    if (st == MT_OK) {
        *state = (mt_renewal_state)mt_col_int(stmt, 0);
        *attempts = (unsigned)mt_col_int64(stmt, 1);
    }
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_renewal_update(mt_store *store, const mt_renewal *r)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    char action[64], detail[600], escaped[300];
    mt_renewal_state old_state = MT_RENEWAL_PLANNED;
    unsigned old_attempts = 0;
    const char *what = NULL;
    if (!store || !r)
        return mt_fail(MT_ERR_INVALID, "store and renewal are required");
    mt_status st = validate_update(r);
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        return st;
    if ((st = read_progress(store, r->id, &old_state, &old_attempts)) != MT_OK ||
        (st = mt_db_stmt(store, UPDATE_SQL, &stmt)) != MT_OK)
        goto out;
    mt_bind_int64(stmt, 1, r->id);
    mt_bind_int(stmt, 2, (int)r->state);
    mt_bind_int(stmt, 3, mt_renewal_state_is_active(r->state));
    if (r->csr_der && r->csr_der_len)
        mt_bind_blob(stmt, 4, r->csr_der, r->csr_der_len);
    mt_bind_text_or_null(stmt, 5, r->attempt_id);
    mt_bind_text_or_null(stmt, 6, r->order_ref);
    mt_bind_text_or_null(stmt, 7, r->order_ref2);
    mt_bind_text_or_null(stmt, 8, r->ca_status);
    if (r->cert_der && r->cert_der_len)
        mt_bind_blob(stmt, 9, r->cert_der, r->cert_der_len);
    mt_bind_text_or_null(stmt, 10, r->chain_pem);
    mt_bind_int64(stmt, 11, r->attempts);
    mt_bind_int64(stmt, 12, r->next_attempt_at);
    mt_bind_text_or_null(stmt, 13, r->last_error);
    mt_bind_text(stmt, 14, r->driver_state && *r->driver_state ? r->driver_state : "{}");
    mt_bind_int64(stmt, 15, mt_now());
    if ((st = mt_db_step_row(store, stmt, "updating the renewal", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "renewal %lld not found", (long long)r->id);
    if (st == MT_ERR_CONFLICT)
        st = mt_fail(MT_ERR_CONFLICT, "%s already has another active renewal", r->email ? r->email : "account");
    if (st == MT_OK && event_worth_it(r, old_state, old_attempts, &what)) {
        int64_t org_id = mt_col_int64(stmt, 0);
        char *email = mt_col_text(stmt, 1);
        mt_db_done(stmt);
        snprintf(action, sizeof(action), "renewal.%s", what);
        mt_json_escape(r->last_error, escaped, sizeof(escaped));
        snprintf(detail, sizeof(detail),
                 "{\"renewal\":%lld,\"state\":\"%s\",\"from\":\"%s\",\"attempts\":%u,"
                 "\"failedBefore\":%u,\"lastError\":\"%s\"}",
                 (long long)r->id, mt_renewal_state_name(r->state), mt_renewal_state_name(old_state),
                 r->attempts, old_attempts, escaped);
        st = email ? mt_event_add(store, org_id, action, email, detail) : mt_fail(MT_ERR_NOMEM, "out of memory");
        free(email);
    }
out:
    mt_db_done(stmt);
    return mt_tx_end(store, st);
}
