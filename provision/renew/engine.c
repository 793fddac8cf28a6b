/*
 * The renewal state machine (DESIGN.md "CA renewals", ca-protocols.md §1):
 * PLANNED -> KEY_READY -> CSR_READY -> SUBMIT_INTENT -> SUBMITTED -> PENDING
 * -> FETCHED -> INSTALLED [-> REVOKE_PENDING] -> DONE, side exits
 * NEEDS_ATTENTION and FAILED.  Every state is written to the store before
 * the step that depends on it; SUBMIT_INTENT without a CA handle means "the
 * order may exist": it is reconciled before any resend, and resent at most
 * once, with the identical CSR.
 */
#include "renew/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "renew/driver.h"
#include "renew/issued.h"
#include "renew/keygen.h"
#include "renew/killpoint.h"

typedef struct run {
    mt_store *store;
    const mt_config *config;
    mt_renewal *r;
    json_t *dstate;
    mt_ca_profile *profile;
    const mt_driver *drv;
    mt_drv_ctx ctx;
    bool intent_fresh; /* SUBMIT_INTENT written by this process: send, do not reconcile */
    bool auth_failed;
} run;

double mt_renew_backoff(double base, double cap, unsigned n)
{
    double d = base;
    for (unsigned i = 0; i < n && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d / 2 + d / 2 * ((double)randombytes_uniform(1000001) / 1e6);
}

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

static long opt(run *x, const char *key, long fallback)
{
    return mt_opt_int(x->ctx.options, key, fallback);
}

static mt_status persist(run *x)
{
    char *text = json_dumps(x->dstate, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return MT_ERR_NOMEM;
    free(x->r->driver_state);
    x->r->driver_state = text;
    mt_status st = mt_store_renewal_update(x->store, x->r);
    if (st == MT_OK)
        mt_renew_kill_hook(x->r->state);
    return st;
}

static mt_status reload(run *x)
{
    mt_renewal *fresh = NULL;
    mt_status st = mt_store_renewal_get(x->store, x->r->id, &fresh);
    if (st != MT_OK)
        return st;
    mt_renewal_free(x->r);
    x->r = fresh;
    return MT_OK;
}

static void set_error(run *x, const char *message)
{
    mt_drv_set_field(&x->r->last_error, message && *message ? message : NULL);
}

static void schedule(run *x, double base, double cap, unsigned n, long ca_delay)
{
    double d = ca_delay >= 0 ? (double)ca_delay : mt_renew_backoff(base, cap, n);
    x->r->next_attempt_at = now() + (int64_t)(d + 0.999);
}

/* A transient failure: back off, or stop once the attempts are used up. */
static void retry_later(run *x, const mt_drv_result *res)
{
    x->r->attempts++;
    long max = opt(x, "max_attempts", 20);
    if (max > 0 && x->r->attempts >= (unsigned)max) {
        char msg[700];
        snprintf(msg, sizeof msg, "gave up after %u attempts: %s", x->r->attempts, res->message);
        x->r->state = MT_RENEWAL_NEEDS_ATTENTION;
        set_error(x, msg);
        return;
    }
    if (res->rate_limited)
        schedule(x, (double)opt(x, "rate_limit_initial", 300), (double)opt(x, "retry_max", 3600),
                 x->r->attempts - 1, res->delay);
    else
        schedule(x, (double)opt(x, "retry_initial", 30), (double)opt(x, "retry_max", 3600),
                 x->r->attempts - 1, res->delay);
    char msg[700], at[21], of[32] = "";
    mt_cli_format_time(x->r->next_attempt_at, at);
    if (max > 0)
        snprintf(of, sizeof of, " of %ld", max);
    snprintf(msg, sizeof msg, "%s; will retry at %s (attempt %u%s)", res->message, at,
             x->r->attempts + 1, of);
    set_error(x, msg);
}

/* AUTH, REJECTED, ATTENTION: the renewal stops; RETRY backs off. */
static void apply_stop_or_retry(run *x, const mt_drv_result *res)
{
    switch (res->outcome) {
    case MT_DRV_AUTH:
        x->auth_failed = true;
        x->r->state = MT_RENEWAL_NEEDS_ATTENTION;
        break;
    case MT_DRV_REJECTED:
        x->r->state = MT_RENEWAL_FAILED;
        break;
    case MT_DRV_RETRY:
    case MT_DRV_WAIT:
        retry_later(x, res);
        return;
    default:
        x->r->state = MT_RENEWAL_NEEDS_ATTENTION;
        break;
    }
    set_error(x, res->message);
}

static void result_clear(mt_drv_result *res)
{
    free(res->pem);
    memset(res, 0, sizeof *res);
    res->delay = -1;
}

/* ---------------------------------------------------------------- steps */

static mt_status step_planned(run *x)
{
    mt_secret *pkcs8 = NULL;
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    mt_status st = mt_renew_make_key_and_csr(x->r->key_spec, x->r->email,
                                             mt_opt_str(x->ctx.options, "hash", "sha256"),
                                             &pkcs8, &csr, &csr_len);
    if (st != MT_OK)
        goto out;
    /* The CSR is stored first: the key cannot be opened again without a PIN. */
    free(x->r->csr_der);
    x->r->csr_der = csr;
    x->r->csr_der_len = csr_len;
    csr = NULL;
    x->r->state = MT_RENEWAL_PLANNED;
    if ((st = persist(x)) != MT_OK ||
        (st = mt_store_renewal_set_candidate_key(x->store, x->r->id, pkcs8)) != MT_OK)
        goto out;
    mt_renew_kill_hook(MT_RENEWAL_KEY_READY);
    st = reload(x);
out:
    mt_secret_free(pkcs8);
    free(csr);
    return st;
}

static mt_status step_key_ready(run *x)
{
    if (!x->r->csr_der || !mt_renew_csr_matches(x->r->csr_der, x->r->csr_der_len,
                                                 x->r->candidate_spki,
                                                 x->r->candidate_spki_len)) {
        x->r->state = MT_RENEWAL_PLANNED; /* nothing was sent: make key and CSR again */
        return persist(x);
    }
    x->r->state = MT_RENEWAL_CSR_READY;
    return persist(x);
}

static mt_status step_csr_ready(run *x)
{
    uint8_t raw[16];
    char id[33];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, sizeof id, raw, sizeof raw);
    mt_drv_set_field(&x->r->attempt_id, id);
    json_object_set_new(x->dstate, "intent_at", json_integer(now()));
    x->r->state = MT_RENEWAL_SUBMIT_INTENT;
    x->r->next_attempt_at = 0;
    mt_status st = persist(x);
    x->intent_fresh = st == MT_OK;
    return st;
}

static mt_status now_pending(run *x)
{
    x->r->state = MT_RENEWAL_SUBMITTED;
    x->r->attempts = 0;
    mt_status st = persist(x);
    if (st != MT_OK)
        return st;
    x->r->state = MT_RENEWAL_PENDING;
    json_object_set_new(x->dstate, "polls", json_integer(0));
    x->r->next_attempt_at = now() + opt(x, "poll_initial", 60);
    return persist(x);
}

static mt_status take_certificate(run *x, const char *pem)
{
    mt_issued issued;
    mt_status st = mt_renew_check_issued(pem, x->r->candidate_spki, x->r->candidate_spki_len,
                                         x->r->email,
                                         mt_opt_str(x->ctx.options, "trust_anchors", NULL),
                                         &issued);
    if (st != MT_OK) {
        x->r->state = MT_RENEWAL_NEEDS_ATTENTION; /* never installed; the primary stays */
        set_error(x, mt_cli_errmsg());
        return persist(x);
    }
    free(x->r->cert_der);
    free(x->r->chain_pem);
    x->r->cert_der = issued.leaf_der;
    x->r->cert_der_len = issued.leaf_len;
    x->r->chain_pem = issued.chain_pem;
    x->r->state = MT_RENEWAL_FETCHED;
    set_error(x, NULL);
    return persist(x);
}

/* The CA holds the order (its handles are recorded): wait for it, or take
 * the certificate it already returned. */
static mt_status order_known(run *x, const mt_drv_result *res)
{
    set_error(x, NULL);
    mt_status st = now_pending(x);
    if (st == MT_OK && res->outcome == MT_DRV_ISSUED)
        st = take_certificate(x, res->pem);
    return st;
}

static mt_status step_submit(run *x)
{
    mt_drv_result res = {.delay = -1};
    x->intent_fresh = false;
    x->drv->submit(&x->ctx, x->r, x->dstate, &res);
    mt_status st;
    if (res.outcome == MT_DRV_OK || res.outcome == MT_DRV_ISSUED) {
        st = order_known(x, &res);
    } else {
        if (res.outcome == MT_DRV_RETRY && res.not_sent) {
            x->r->state = MT_RENEWAL_CSR_READY; /* the CA refused before ordering */
            json_object_del(x->dstate, "resends");
        }
        apply_stop_or_retry(x, &res);
        st = persist(x);
    }
    result_clear(&res);
    return st;
}

static mt_status step_reconcile(run *x)
{
    mt_drv_result res = {.delay = -1};
    x->drv->reconcile(&x->ctx, x->r, x->dstate, &res);
    mt_status st;
    if (res.outcome == MT_DRV_OK || res.outcome == MT_DRV_ISSUED) {
        st = order_known(x, &res);
    } else if (res.outcome == MT_DRV_NO_ORDER) {
        if (json_integer_value(json_object_get(x->dstate, "resends")) >= 1) {
            x->r->state = MT_RENEWAL_NEEDS_ATTENTION;
            set_error(x, "no order found at the CA after one resend: check the CA account, "
                         "then cancel and renew again");
        } else {
            /* Recorded before sending, so that it happens at most once. */
            json_object_set_new(x->dstate, "resends", json_integer(1));
            x->intent_fresh = true;
        }
        st = persist(x);
    } else {
        res.not_sent = false; /* the order may still exist: stay in SUBMIT_INTENT */
        apply_stop_or_retry(x, &res);
        st = persist(x);
    }
    result_clear(&res);
    return st;
}

static mt_status step_pending(run *x)
{
    mt_drv_result res = {.delay = -1};
    x->drv->poll(&x->ctx, x->r, x->dstate, &res);
    mt_status st;
    if (res.outcome == MT_DRV_ISSUED) {
        st = take_certificate(x, res.pem);
    } else if (res.outcome == MT_DRV_WAIT || res.outcome == MT_DRV_OK) {
        long polls = (long)json_integer_value(json_object_get(x->dstate, "polls"));
        json_object_set_new(x->dstate, "polls", json_integer(polls + 1));
        schedule(x, (double)opt(x, "poll_initial", 60), (double)opt(x, "poll_max", 900),
                 (unsigned)polls, res.delay);
        set_error(x, NULL);
        st = persist(x);
    } else {
        apply_stop_or_retry(x, &res);
        st = persist(x);
    }
    result_clear(&res);
    return st;
}

static mt_status step_fetched(run *x)
{
    mt_blob *chain = NULL;
    size_t n_chain = 0;
    mt_status st = mt_renew_pem_to_blobs(x->r->chain_pem, &chain, &n_chain);
    if (st == MT_OK)
        st = mt_store_renewal_install(x->store, x->r->id, x->r->cert_der, x->r->cert_der_len,
                                      chain, n_chain);
    mt_renew_blobs_free(chain, n_chain);
    if (st == MT_ERR_INVALID || st == MT_ERR_CONFLICT || st == MT_ERR_CRYPTO) {
        x->r->state = MT_RENEWAL_NEEDS_ATTENTION;
        set_error(x, mt_errmsg());
        return persist(x);
    }
    if (st != MT_OK)
        return st;
    mt_renew_kill_hook(MT_RENEWAL_INSTALLED);
    return reload(x);
}

static mt_status step_installed(run *x)
{
    x->r->state = x->r->revoke_old ? MT_RENEWAL_REVOKE_PENDING : MT_RENEWAL_DONE;
    x->r->attempts = 0;
    x->r->next_attempt_at = 0;
    return persist(x);
}

static mt_status step_revoke(run *x)
{
    mt_cert *old = NULL;
    mt_drv_result res = {.delay = -1};
    mt_status st = mt_store_cert_get(x->store, x->r->old_cert_id, &old);
    if (st != MT_OK)
        return st;
    x->drv->revoke(&x->ctx, x->r, old, x->dstate, &res);
    if (res.outcome == MT_DRV_OK) {
        x->r->state = MT_RENEWAL_DONE;
        set_error(x, NULL);
    } else if (res.outcome == MT_DRV_RETRY) {
        retry_later(x, &res);
    } else {
        char msg[700];
        snprintf(msg, sizeof msg, "new certificate installed; revoking the old one failed: %s",
                 res.message);
        apply_stop_or_retry(x, &res);
        if (x->r->state == MT_RENEWAL_FAILED)
            x->r->state = MT_RENEWAL_NEEDS_ATTENTION;
        set_error(x, msg);
    }
    st = persist(x);
    result_clear(&res);
    mt_cert_free(old);
    return st;
}

static mt_status step(run *x)
{
    switch (x->r->state) {
    case MT_RENEWAL_PLANNED:
        return step_planned(x);
    case MT_RENEWAL_KEY_READY:
        return step_key_ready(x);
    case MT_RENEWAL_CSR_READY:
        return step_csr_ready(x);
    case MT_RENEWAL_SUBMIT_INTENT:
        return x->intent_fresh ? step_submit(x) : step_reconcile(x);
    case MT_RENEWAL_SUBMITTED:
        x->r->state = MT_RENEWAL_PENDING;
        return persist(x);
    case MT_RENEWAL_PENDING:
        return step_pending(x);
    case MT_RENEWAL_FETCHED:
        return step_fetched(x);
    case MT_RENEWAL_INSTALLED:
        return step_installed(x);
    case MT_RENEWAL_REVOKE_PENDING:
        return step_revoke(x);
    default:
        return MT_OK;
    }
}

/* ---------------------------------------------------------------- set-up */

static mt_status open_run(run *x, const mt_config *config)
{
    mt_status st = mt_store_ca_get(x->store, x->r->org_id, x->r->ca_name, &x->profile);
    if (st != MT_OK)
        return st;
    x->drv = mt_driver_find(x->profile->kind);
    if (!x->drv)
        return mt_cli_set_error(MT_ERR_INVALID, "CA profile %s: unknown kind '%s'",
                                x->profile->name, x->profile->kind);
    json_error_t jerr;
    x->ctx.options = json_loads(x->profile->options ? x->profile->options : "{}", 0, &jerr);
    x->dstate = json_loads(x->r->driver_state ? x->r->driver_state : "{}", 0, &jerr);
    if (!json_is_object(x->ctx.options) || !json_is_object(x->dstate))
        return mt_cli_set_error(MT_ERR_INVALID, "renewal of %s: options or driver state "
                                                "are not a JSON object",
                                x->r->email);
    x->ctx.store = x->store;
    x->ctx.org_id = x->r->org_id;
    x->ctx.profile = x->profile;
    x->ctx.http.ca_bundle = mt_opt_str(x->ctx.options, "ca_bundle",
                                       config ? config->ca_bundle : NULL);
    x->ctx.http.timeout_ms = opt(x, "timeout_ms", 30000);
    x->ctx.http.connect_timeout_ms = opt(x, "connect_timeout_ms", 10000);
    long rps = opt(x, "max_rps", strcmp(x->drv->kind, "internetx") == 0 ? 3 : 0);
    x->ctx.http.min_interval_ms = rps > 0 ? (1000 + rps - 1) / rps : 0;
    return MT_OK;
}

static bool keeps_going(mt_renewal_state s)
{
    return mt_renewal_state_is_active(s) && s != MT_RENEWAL_NEEDS_ATTENTION;
}

mt_status mt_renew_run(mt_store *store, const mt_config *config, int64_t renewal_id,
                       const mt_renew_opts *opts, bool *auth_failed)
{
    run x = {.store = store, .config = config};
    mt_status st = mt_store_renewal_get(store, renewal_id, &x.r);
    if (st != MT_OK || !keeps_going(x.r->state))
        goto out;
    if ((st = open_run(&x, config)) != MT_OK)
        goto out;
    int64_t deadline = now() + (opts ? opts->wait_seconds : 0);
    bool first = true;
    while (st == MT_OK && keeps_going(x.r->state)) {
        int64_t t = now();
        if (x.r->next_attempt_at > t && !(first && opts && opts->now)) {
            if (x.r->next_attempt_at > deadline)
                break;
            sleep((unsigned)(x.r->next_attempt_at - t));
        }
        first = false;
        st = step(&x);
    }
out:
    if (auth_failed)
        *auth_failed = x.auth_failed;
    json_decref(x.dstate);
    json_decref(x.ctx.options);
    mt_ca_creds_free(x.ctx.creds);
    mt_ca_profile_free(x.profile);
    mt_renewal_free(x.r);
    return st;
}
