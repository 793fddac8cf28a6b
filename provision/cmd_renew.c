/* mailtoken renew: renew certificates through a CA (see renew/engine.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "renew/driver.h"
#include "renew/engine.h"
#include "renew/keygen.h"
#include "renew/killpoint.h"
#include "renew/start.h"

static const char renew_help[] =
    "Usage: mailtoken renew EMAIL... [--ca NAME] [--key SPEC] [--revoke-old]\n"
    "                       [--order-number N] [--wait SECONDS]\n"
    "       mailtoken renew --expiring DAYS [--ca NAME] [--key SPEC] [--revoke-old]\n"
    "                       [--wait SECONDS]\n"
    "       mailtoken renew status|resume|cancel ...\n"
    "\n"
    "Generates a new key (sealed to the account's token, no PIN needed), orders a\n"
    "certificate for it from the CA and, once the certificate is checked, makes it\n"
    "the account's primary; the old certificate stays in the history.  Every step\n"
    "is stored first, so an interrupted renewal carries on with `renew resume` and\n"
    "never places a second order.  Only internal accounts (their primary has a\n"
    "private key) are renewed: an external account's address is someone else's.\n"
    "\n"
    "  --ca NAME          CA profile (default: the organisation's only profile)\n"
    "  --key SPEC         rsa2048, rsa3072, ec-p256 or ec-p384 (default: the profile's\n"
    "                     `key` option, else like the current primary, else rsa3072)\n"
    "  --revoke-old       revoke the old certificate once the new one is installed\n"
    "  --order-number N   Sectigo: the order to replace (remembered for later\n"
    "                     renewals); one EMAIL only\n"
    "  --expiring DAYS    every internal account whose primary expires within DAYS\n"
    "  --wait SECONDS     keep polling the CA up to this long (default 0: one pass)\n"
    "  --json             {\"renewals\": [RENEWAL or {\"email\", \"error\", \"message\"}],\n"
    "                     \"exit\"}\n"
    "\n"
    "Exit: 0 all done, 8 waiting for the CA (run `renew resume` later), 9 the CA\n"
    "refused or an operator must act, 6 the CA refused the credentials.\n";

static const char status_help[] =
    "Usage: mailtoken renew status [EMAIL] [--all]\n"
    "\n"
    "The renewals under way (of EMAIL only, when given): state, CA, order, next\n"
    "attempt, last message.  Always exit 0 when the store could be read.\n"
    "  --all    also the finished ones (done, failed, cancelled)\n"
    "  --json   {\"renewals\": [RENEWAL], \"exit\"}\n";

static const char resume_help[] =
    "Usage: mailtoken renew resume [EMAIL] [--now] [--wait SECONDS]\n"
    "\n"
    "Carries on every renewal under way (of EMAIL only, when given) from its\n"
    "stored state; an order whose answer was lost is looked up, never sent twice.\n"
    "  --now              do not wait for the scheduled time of the next attempt\n"
    "  --wait SECONDS     keep polling the CA up to this long (default 0: one pass)\n"
    "  --json             {\"renewals\": [RENEWAL], \"exit\"}\n"
    "Exit: as `renew`.\n";

static const char cancel_help[] =
    "Usage: mailtoken renew cancel EMAIL\n"
    "\n"
    "Stops the account's renewal; the primary stays as it is.  An order already\n"
    "placed is not cancelled at the CA (you are told its number).\n"
    "  --json   the RENEWAL\n";

enum { OPT_CA = 1, OPT_KEY, OPT_REVOKE, OPT_ORDER, OPT_EXPIRING, OPT_WAIT, OPT_NOW, OPT_ALL };

/* ------------------------------------------------------------- output */

json_t *mt_renewal_json(const mt_renewal *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "email", json_string(r->email));
    json_object_set_new(o, "ca", json_string(r->ca_name));
    json_object_set_new(o, "key", json_string(r->key_spec));
    json_object_set_new(o, "state", json_string(mt_renewal_state_name(r->state)));
    json_object_set_new(o, "revokeOld", json_boolean(r->revoke_old));
    json_object_set_new(o, "orderRef", r->order_ref ? json_string(r->order_ref) : json_null());
    json_object_set_new(o, "orderRef2", r->order_ref2 ? json_string(r->order_ref2) : json_null());
    json_object_set_new(o, "caStatus", r->ca_status ? json_string(r->ca_status) : json_null());
    json_object_set_new(o, "attempts", json_integer(r->attempts));
    json_object_set_new(o, "nextAttemptAt",
                        r->next_attempt_at ? mt_json_time(r->next_attempt_at) : json_null());
    json_object_set_new(o, "lastError", r->last_error ? json_string(r->last_error) : json_null());
    json_object_set_new(o, "oldCertificateId", json_integer(r->old_cert_id));
    json_object_set_new(o, "newCertificateId",
                        r->new_cert_id ? json_integer(r->new_cert_id) : json_null());
    json_object_set_new(o, "createdAt", mt_json_time(r->created_at));
    json_object_set_new(o, "updatedAt", mt_json_time(r->updated_at));
    return o;
}

static void print_row(const mt_renewal *r)
{
    char next[21] = "-";
    if (r->next_attempt_at && mt_renewal_state_is_active(r->state))
        mt_cli_format_time(r->next_attempt_at, next);
    printf("%-32s %-16s %-12s %-12s %-20s %s\n", r->email, mt_renewal_state_name(r->state),
           r->ca_name, r->order_ref ? r->order_ref : "-", next,
           r->last_error ? r->last_error : "");
}

typedef struct outcome {
    json_t *items;   /* --json */
    int code;        /* worst exit code so far */
    bool header;
} outcome;

static int rank(int code)
{
    switch (code) {
    case MT_EXIT_OK:
        return 0;
    case MT_EXIT_PENDING:
        return 1;
    case MT_EXIT_CA:
        return 2;
    case MT_EXIT_AUTH:
        return 3;
    default:
        return 4;
    }
}

static void note_code(outcome *out, int code)
{
    if (rank(code) > rank(out->code))
        out->code = code;
}

static void report(mt_cli *cli, outcome *out, const mt_renewal *r, bool auth_failed)
{
    int code = r->state == MT_RENEWAL_DONE || r->state == MT_RENEWAL_CANCELLED ? MT_EXIT_OK
               : auth_failed                                                   ? MT_EXIT_AUTH
               : r->state == MT_RENEWAL_NEEDS_ATTENTION || r->state == MT_RENEWAL_FAILED
                   ? MT_EXIT_CA
                   : MT_EXIT_PENDING;
    note_code(out, code);
    if (cli->json) {
        json_array_append_new(out->items, mt_renewal_json(r));
    } else if (!cli->quiet) {
        if (!out->header)
            printf("%-32s %-16s %-12s %-12s %-20s %s\n", "EMAIL", "STATE", "CA", "ORDER",
                   "NEXT ATTEMPT", "MESSAGE");
        out->header = true;
        print_row(r);
    }
}

static void report_error(mt_cli *cli, outcome *out, const char *email, mt_status st)
{
    int code = mt_cli_exit_code(st);
    note_code(out, code);
    const char *msg = mt_cli_errmsg();
    size_t n = strlen(email);
    bool named = strncasecmp(msg, email, n) == 0 && strncmp(msg + n, ": ", 2) == 0;
    if (cli->json)
        json_array_append_new(out->items, json_pack("{s:s, s:s, s:s}", "email", email, "error",
                                                     mt_status_name(st), "message", msg));
    else if (named) /* the message names the account already */
        fprintf(stderr, "%s renew: %s\n", cli->prog, msg);
    else
        fprintf(stderr, "%s renew: %s: %s\n", cli->prog, email, msg);
    mt_cli_clear_error();
}

static int finish(mt_cli *cli, outcome *out)
{
    if (cli->json)
        mt_cli_print_json(json_pack("{s:o, s:i}", "renewals", out->items, "exit", out->code));
    else
        json_decref(out->items);
    return out->code;
}

/* Runs one renewal and reports where it ended. */
static mt_status drive(mt_cli *cli, mt_store *store, int64_t id, const mt_renew_args *a,
                       outcome *out, bool *auth_failed)
{
    mt_renew_opts opts = {.wait_seconds = a->wait, .now = a->now};
    mt_renewal *r = NULL;
    mt_status st = mt_renew_run(store, cli->config, id, &opts, auth_failed);
    if (st == MT_OK)
        st = mt_store_renewal_get(store, id, &r);
    if (st == MT_OK)
        report(cli, out, r, *auth_failed);
    mt_renewal_free(r);
    return st;
}

/* ------------------------------------------------------------- starting */

static mt_status pick_ca(mt_store *store, int64_t org_id, const char *name,
                         mt_ca_profile **out)
{
    if (name)
        return mt_store_ca_get(store, org_id, name, out);
    mt_ca_profile *all = NULL;
    size_t n = 0;
    mt_status st = mt_store_ca_list(store, org_id, &all, &n);
    if (st == MT_OK && n != 1)
        st = mt_cli_set_error(n ? MT_ERR_INVALID : MT_ERR_NOT_FOUND,
                              n ? "--ca is required: the organisation has %zu CA profiles"
                                : "no CA profile: add one with `mailtoken ca add`",
                              n);
    if (st == MT_OK)
        st = mt_store_ca_get(store, org_id, all[0].name, out);
    mt_ca_profile_list_free(all, n);
    return st;
}

/* Key like the current primary's when it is one we can make. */
static const char *default_key(const mt_cert *primary, json_t *options)
{
    const char *k = mt_opt_str(options, "key", NULL);
    if (k)
        return k;
    const mt_cert_info *i = primary ? primary->info : NULL;
    if (i && i->key_type == MT_KEY_RSA && i->key_bits == 2048)
        return "rsa2048";
    if (i && i->key_type == MT_KEY_EC && i->curve && strcmp(i->curve, "P-256") == 0)
        return "ec-p256";
    if (i && i->key_type == MT_KEY_EC && i->curve && strcmp(i->curve, "P-384") == 0)
        return "ec-p384";
    return "rsa3072";
}

/* Sectigo replaces an existing order: --order-number, else the order the
 * last renewal of this email ended on, else the option order.<email>. */
static mt_status sectigo_order(mt_store *store, int64_t org_id, const char *email,
                               const char *given, json_t *options, char **out)
{
    *out = NULL;
    if (given) {
        *out = strdup(given);
        return MT_OK;
    }
    mt_renewal **list = NULL;
    size_t n = 0;
    mt_status st = mt_store_renewal_list(store, org_id, email, false, &list, &n);
    int64_t best = 0;
    for (size_t i = 0; st == MT_OK && i < n; i++)
        if (list[i]->state == MT_RENEWAL_DONE && list[i]->order_ref && list[i]->id > best) {
            best = list[i]->id;
            free(*out);
            *out = strdup(list[i]->order_ref);
        }
    mt_renewal_list_free(list, n);
    char key[320];
    snprintf(key, sizeof key, "order.%s", email);
    json_t *o = json_object_get(options, key);
    char number[32] = "";
    if (json_is_integer(o))
        snprintf(number, sizeof number, "%lld", (long long)json_integer_value(o));
    const char *opt = json_is_string(o) ? json_string_value(o) : number[0] ? number : NULL;
    if (st == MT_OK && !*out && opt)
        *out = strdup(opt);
    if (st == MT_OK && !*out)
        st = mt_cli_set_error(MT_ERR_INVALID, "%s: no Sectigo order number known: give "
                                              "--order-number N (the order to replace)",
                              email);
    return st;
}

mt_status mt_renew_start(mt_store *store, int64_t org_id, const char *email,
                         const mt_renew_args *a, int64_t *id)
{
    mt_account *acct = NULL;
    mt_cert *primary = NULL;
    mt_ca_profile *profile = NULL;
    mt_renewal *r = NULL;
    json_t *options = NULL, *dstate = json_object();
    char *order = NULL;
    mt_status st = mt_store_account_get(store, org_id, email, &acct);
    if (st == MT_OK)
        st = mt_store_renewal_get_active(store, org_id, email, &r);
    if (st == MT_OK) {
        st = mt_cli_set_error(MT_ERR_CONFLICT, "%s: a renewal is already %s: use `renew "
                                               "resume` or `renew cancel`",
                              email, mt_renewal_state_name(r->state));
        goto out;
    }
    if (st != MT_ERR_NOT_FOUND || !acct)
        goto out;
    if (!acct->internal) {
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "%s: an external account (its primary #%lld has no private key): "
                              "the address is someone else's, so mailtoken does not order "
                              "certificates for it; import their new certificate instead",
                              acct->email, (long long)acct->primary_cert_id);
        goto out;
    }
    if ((st = pick_ca(store, org_id, a->ca, &profile)) != MT_OK ||
        (st = mt_store_cert_get(store, acct->primary_cert_id, &primary)) != MT_OK)
        goto out;
    options = json_loads(profile->options ? profile->options : "{}", 0, NULL);
    const char *key = a->key ? a->key : default_key(primary, options);
    if (!mt_renew_key_spec_valid(key)) {
        st = mt_cli_set_error(MT_ERR_INVALID, "--key: '%s' is not rsa2048, rsa3072, ec-p256 "
                                              "or ec-p384",
                              key);
        goto out;
    }
    if (strcmp(profile->kind, "sectigo") == 0) {
        if ((st = sectigo_order(store, org_id, acct->email, a->order, options, &order)) != MT_OK)
            goto out;
        json_object_set_new(dstate, "order", json_string(order));
    }
    mt_store_begin(store);
    st = mt_store_renewal_create(store, org_id, acct->email, profile->name, key, a->revoke_old,
                                 id);
    if (st == MT_OK)
        st = mt_store_renewal_get(store, *id, &r);
    if (st == MT_OK) {
        free(r->driver_state);
        r->driver_state = json_dumps(dstate, JSON_COMPACT | JSON_SORT_KEYS);
        st = mt_store_renewal_update(store, r);
    }
    if (st == MT_OK)
        st = mt_store_commit(store);
    else
        mt_store_rollback(store);
    if (st == MT_OK)
        mt_renew_kill_hook(MT_RENEWAL_PLANNED);
out:
    free(order);
    json_decref(options);
    json_decref(dstate);
    mt_renewal_free(r);
    mt_ca_profile_free(profile);
    mt_cert_free(primary);
    mt_account_free(acct);
    return st;
}

/* Emails of internal accounts whose primary expires within days. */
static mt_status expiring(mt_store *store, int64_t org_id, long long days, char ***emails,
                          size_t *n)
{
    mt_account **accounts = NULL;
    size_t count = 0, total = 0;
    *emails = NULL;
    *n = 0;
    mt_status st = mt_store_account_list(store, org_id, 0, 0, &accounts, &count, &total);
    int64_t limit = (int64_t)time(NULL) + (int64_t)days * 86400;
    if (st == MT_OK && count)
        *emails = calloc(count, sizeof **emails);
    for (size_t i = 0; st == MT_OK && i < count; i++) {
        mt_cert *c = NULL;
        if (!accounts[i]->internal)
            continue; /* PEM-only accounts belong to someone else */
        st = mt_store_cert_get(store, accounts[i]->primary_cert_id, &c);
        if (st == MT_OK && c->info->not_after < limit)
            (*emails)[(*n)++] = strdup(accounts[i]->email);
        mt_cert_free(c);
    }
    mt_account_list_free(accounts, count);
    return st;
}

static bool parse_common(mt_cli *cli, const char *cmd, int opt, mt_renew_args *a, int *code)
{
    switch (opt) {
    case OPT_CA:
        a->ca = optarg;
        return true;
    case OPT_KEY:
        a->key = optarg;
        return true;
    case OPT_REVOKE:
        a->revoke_old = true;
        return true;
    case OPT_ORDER:
        a->order = optarg;
        return true;
    case OPT_NOW:
        a->now = true;
        return true;
    case OPT_ALL:
        a->all = true;
        return true;
    case OPT_EXPIRING:
        return mt_cli_parse_int(cli, cmd, "--expiring", optarg, 0, 36500, &a->expiring, code);
    case OPT_WAIT:
        return mt_cli_parse_int(cli, cmd, "--wait", optarg, 0, 30 * 86400, &a->wait, code);
    default:
        return false;
    }
}

static const struct option start_options[] = {
    {"ca", required_argument, NULL, OPT_CA},
    {"key", required_argument, NULL, OPT_KEY},
    {"revoke-old", no_argument, NULL, OPT_REVOKE},
    {"order-number", required_argument, NULL, OPT_ORDER},
    {"expiring", required_argument, NULL, OPT_EXPIRING},
    {"wait", required_argument, NULL, OPT_WAIT},
    MT_CLI_COMMON_OPTIONS,
    {0},
};
static const struct option status_options[] = {
    {"all", no_argument, NULL, OPT_ALL}, MT_CLI_COMMON_OPTIONS, {0}};
static const struct option resume_options[] = {
    {"now", no_argument, NULL, OPT_NOW}, {"wait", required_argument, NULL, OPT_WAIT},
    MT_CLI_COMMON_OPTIONS, {0}};
static const struct option cancel_options[] = {MT_CLI_COMMON_OPTIONS, {0}};

/* Parses options; returns MT_EXIT_OK to go on, else the exit code. */
static int parse(mt_cli *cli, const char *cmd, const char *help, const struct option *options,
                 int argc, char **argv, mt_renew_args *a)
{
    int code = MT_EXIT_OK, opt;
    a->expiring = -1;
    while ((opt = mt_cli_getopt(cli, cmd, help, argc, argv, options, &code)) >= 0)
        if (!parse_common(cli, cmd, opt, a, &code))
            return code;
    return opt == MT_OPT_EXIT ? (code == MT_EXIT_OK ? -1 : code) : MT_EXIT_OK;
}

static int renew_start(mt_cli *cli, int argc, char **argv)
{
    mt_renew_args a = {0};
    outcome out = {.items = json_array()};
    mt_store *store = NULL;
    int64_t org_id;
    char **emails = NULL;
    size_t n = 0;
    bool owned = false;
    int code = parse(cli, "renew", renew_help, start_options, argc, argv, &a);
    if (code != MT_EXIT_OK) {
        json_decref(out.items);
        return code < 0 ? MT_EXIT_OK : code;
    }
    if ((a.expiring >= 0) == (optind < argc)) {
        json_decref(out.items);
        return mt_cli_usage_error(cli, "renew", "give EMAIL... or --expiring DAYS");
    }
    if (a.order && (a.expiring >= 0 || optind + 1 < argc)) { /* one order replaces one */
        json_decref(out.items);
        return mt_cli_usage_error(cli, "renew", "--order-number goes with one EMAIL");
    }
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK) {
        json_decref(out.items);
        return code;
    }
    if (a.expiring >= 0) {
        mt_status st = expiring(store, org_id, a.expiring, &emails, &n);
        if (st != MT_OK) {
            code = mt_cli_fail(cli, st, "renew");
            json_decref(out.items);
            goto out;
        }
        owned = true;
    } else {
        emails = argv + optind;
        n = (size_t)(argc - optind);
    }
    for (size_t i = 0; i < n; i++) {
        int64_t id = 0;
        bool auth_failed = false;
        mt_status st = mt_renew_start(store, org_id, emails[i], &a, &id);
        if (st == MT_ERR_CONFLICT && a.expiring >= 0)
            continue; /* already under way: `renew resume` carries it */
        if (st == MT_OK)
            st = drive(cli, store, id, &a, &out, &auth_failed);
        if (st != MT_OK)
            report_error(cli, &out, emails[i], st);
    }
    code = finish(cli, &out);
out:
    for (size_t i = 0; owned && i < n; i++)
        free(emails[i]);
    if (owned)
        free(emails);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------- resume */

static bool profile_failed(char **failed, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(failed[i], name) == 0)
            return true;
    return false;
}

static int renew_resume(mt_cli *cli, int argc, char **argv)
{
    mt_renew_args a = {0};
    outcome out = {.items = json_array()};
    mt_store *store = NULL;
    mt_renewal **list = NULL;
    size_t n = 0, n_failed = 0;
    char **failed = NULL;
    int64_t org_id;
    int code = parse(cli, "renew resume", resume_help, resume_options, argc, argv, &a);
    if (code == MT_EXIT_OK && optind + 1 < argc)
        code = mt_cli_usage_error(cli, "renew resume", "at most one EMAIL");
    if (code == MT_EXIT_OK)
        code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK) {
        json_decref(out.items);
        mt_store_close(store);
        return code < 0 ? MT_EXIT_OK : code;
    }
    mt_status st = mt_store_renewal_list(store, org_id, optind < argc ? argv[optind] : NULL,
                                         true, &list, &n);
    if (st != MT_OK) {
        json_decref(out.items);
        code = mt_cli_fail(cli, st, "renew resume");
        goto out;
    }
    failed = calloc(n + 1, sizeof *failed);
    for (size_t i = 0; i < n; i++) {
        mt_renewal *r = list[i];
        bool auth_failed = false;
        if (r->state == MT_RENEWAL_NEEDS_ATTENTION) { /* an operator must act first */
            report(cli, &out, r, false);
            continue;
        }
        if (profile_failed(failed, n_failed, r->ca_name)) {
            report(cli, &out, r, true);
            continue;
        }
        st = drive(cli, store, r->id, &a, &out, &auth_failed);
        if (st != MT_OK)
            report_error(cli, &out, r->email, st);
        if (auth_failed)
            failed[n_failed++] = r->ca_name;
    }
    code = finish(cli, &out);
out:
    free(failed);
    mt_renewal_list_free(list, n);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------- status, cancel */

static int renew_status(mt_cli *cli, int argc, char **argv)
{
    mt_renew_args a = {0};
    outcome out = {.items = json_array()};
    mt_store *store = NULL;
    mt_renewal **list = NULL;
    size_t n = 0;
    int64_t org_id;
    int code = parse(cli, "renew status", status_help, status_options, argc, argv, &a);
    if (code == MT_EXIT_OK && optind + 1 < argc)
        code = mt_cli_usage_error(cli, "renew status", "at most one EMAIL");
    if (code == MT_EXIT_OK)
        code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id);
    if (code != MT_EXIT_OK) {
        json_decref(out.items);
        mt_store_close(store);
        return code < 0 ? MT_EXIT_OK : code;
    }
    mt_status st = mt_store_renewal_list(store, org_id, optind < argc ? argv[optind] : NULL,
                                         !a.all, &list, &n);
    if (st != MT_OK) {
        json_decref(out.items);
        code = mt_cli_fail(cli, st, "renew status");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        report(cli, &out, list[i], false);
    finish(cli, &out);
    code = MT_EXIT_OK; /* status only reports */
out:
    mt_renewal_list_free(list, n);
    mt_store_close(store);
    return code;
}

static int renew_cancel(mt_cli *cli, int argc, char **argv)
{
    mt_renew_args a = {0};
    mt_store *store = NULL;
    mt_renewal *r = NULL;
    int64_t org_id;
    int code = parse(cli, "renew cancel", cancel_help, cancel_options, argc, argv, &a);
    if (code == MT_EXIT_OK && optind + 1 != argc)
        code = mt_cli_usage_error(cli, "renew cancel", "one EMAIL is required");
    if (code == MT_EXIT_OK)
        code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK) {
        mt_store_close(store);
        return code < 0 ? MT_EXIT_OK : code;
    }
    mt_status st = mt_store_renewal_get_active(store, org_id, argv[optind], &r);
    if (st == MT_OK) {
        bool ordered = r->order_ref != NULL || r->state == MT_RENEWAL_SUBMIT_INTENT;
        r->state = MT_RENEWAL_CANCELLED;
        st = mt_store_renewal_update(store, r);
        if (st == MT_OK && ordered)
            fprintf(stderr, "%s renew cancel: %s: an order%s%s may exist at the CA: cancel it "
                            "there if it is not wanted\n",
                    cli->prog, r->email, r->order_ref ? " " : "",
                    r->order_ref ? r->order_ref : "");
    }
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, argv[optind]);
    } else if (cli->json) {
        mt_cli_print_json(mt_renewal_json(r));
    } else {
        mt_cli_note(cli, "renewal of %s cancelled; the primary is unchanged\n", r->email);
    }
    mt_renewal_free(r);
    mt_store_close(store);
    return code;
}

int mt_cmd_renew(mt_cli *cli, int argc, char **argv)
{
    static const mt_subcommand subs[] = {
        {"status", "renewals under way (--all: also finished ones)", renew_status},
        {"resume", "carry on every renewal that is under way", renew_resume},
        {"cancel", "stop an account's renewal (the primary stays)", renew_cancel},
    };
    const size_t n_subs = sizeof subs / sizeof subs[0];
    bool help = argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    for (size_t i = 0; argc > 1 && i < n_subs && !help; i++)
        help = strcmp(argv[1], subs[i].name) == 0;
    if (help) /* a subcommand, or the help that lists them */
        return mt_cli_dispatch(cli, "renew", renew_help, subs, n_subs, argc, argv);
    optind = 0;
    return renew_start(cli, argc, argv);
}
