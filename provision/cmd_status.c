/* mailtoken status: where the store is and what it holds. */
#include "cli.h"
#include "overview.h"

#include <time.h>

static const char status_help[] =
    "Usage: mailtoken status [--days N]\n"
    "\n"
    "Shows the store path and schema, the organisation, counts, certificates\n"
    "expiring within N days (default 30; expired included), renewals in\n"
    "progress and the latest audit event.\n"
    "  --json   {\"store\", \"organization\", \"counts\", \"expiringSoon\",\n"
    "           \"renewals\", \"lastEvent\"} (see mailtoken(1))\n";

enum { OPT_DAYS = 1 };

mt_status mt_overview_gather(mt_store *store, const char *org_name, mt_overview *d)
{
    mt_status st = mt_store_org_find(store, org_name, &d->org);
    if (st == MT_OK)
        st = mt_store_stats_get(store, d->org->id, &d->stats);
    mt_cert_query query = {.org_id = d->org ? d->org->id : 0,
                           .expiring_before = (int64_t)time(NULL) + d->days * 86400,
                           .kind = -1,
                           .limit = 20};
    if (st == MT_OK)
        st = mt_store_cert_list(store, &query, &d->expiring, &d->n_expiring, &d->total_expiring);
    if (st == MT_OK)
        st = mt_store_renewal_list(store, d->org->id, NULL, true, &d->renewals, &d->n_renewals);
    mt_event_query events = {.org_id = d->org ? d->org->id : 0, .limit = 1};
    if (st == MT_OK)
        st = mt_store_event_list(store, &events, &d->last_event, &d->n_events);
    return st;
}

json_t *mt_overview_json(mt_store *store, const mt_overview *d)
{
    json_t *store_obj = json_object();
    json_object_set_new(store_obj, "path", json_string(mt_store_path(store)));
    json_object_set_new(store_obj, "schemaVersion", json_integer(mt_store_schema_version(store)));
    json_t *org = json_object();
    json_object_set_new(org, "id", json_integer(d->org->id));
    json_object_set_new(org, "name", json_string(d->org->name));
    json_t *counts = json_object();
    json_object_set_new(counts, "organizations", json_integer((json_int_t)d->stats.organizations));
    json_object_set_new(counts, "accounts", json_integer((json_int_t)d->stats.accounts));
    json_object_set_new(counts, "internalAccounts",
                        json_integer((json_int_t)d->stats.internal_accounts));
    json_object_set_new(counts, "certificates", json_integer((json_int_t)d->stats.certificates));
    json_object_set_new(counts, "certificatesWithKey",
                        json_integer((json_int_t)d->stats.certificates_with_key));
    json_object_set_new(counts, "tokens", json_integer((json_int_t)d->stats.tokens));
    json_t *expiring = json_array();
    for (size_t i = 0; i < d->n_expiring; i++)
        json_array_append_new(expiring, mt_json_cert(d->expiring[i]));
    json_t *soon = json_object();
    json_object_set_new(soon, "days", json_integer(d->days));
    json_object_set_new(soon, "total", json_integer((json_int_t)d->total_expiring));
    json_object_set_new(soon, "certificates", expiring);
    json_t *active = json_array();
    for (size_t i = 0; i < d->n_renewals; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "id", json_integer(d->renewals[i]->id));
        json_object_set_new(r, "email", json_string(d->renewals[i]->email));
        json_object_set_new(r, "state", json_string(mt_renewal_state_name(d->renewals[i]->state)));
        json_array_append_new(active, r);
    }
    json_t *renewals = json_object();
    json_object_set_new(renewals, "pending", json_integer((json_int_t)d->stats.pending_renewals));
    json_object_set_new(renewals, "active", active);
    json_t *last = json_null();
    if (d->n_events) {
        last = json_object();
        json_object_set_new(last, "id", json_integer(d->last_event->id));
        json_object_set_new(last, "at", mt_json_time(d->last_event->at));
        json_object_set_new(last, "action", json_string(d->last_event->action));
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "store", store_obj);
    json_object_set_new(obj, "organization", org);
    json_object_set_new(obj, "counts", counts);
    json_object_set_new(obj, "expiringSoon", soon);
    json_object_set_new(obj, "renewals", renewals);
    json_object_set_new(obj, "lastEvent", last);
    return obj;
}

static void print_status(mt_store *store, const mt_overview *d)
{
    const mt_store_stats *s = &d->stats;
    printf("store            %s (schema %d)\n", mt_store_path(store),
           mt_store_schema_version(store));
    printf("organisation     %s (id %lld)\n", d->org->name, (long long)d->org->id);
    printf("accounts         %zu (%zu internal, %zu external)\n", s->accounts,
           s->internal_accounts, s->accounts - s->internal_accounts);
    printf("certificates     %zu (%zu with a private key)\n", s->certificates,
           s->certificates_with_key);
    printf("tokens           %zu\n", s->tokens);
    printf("expiring         %zu within %lld days\n", d->total_expiring, d->days);
    for (size_t i = 0; i < d->n_expiring; i++) {
        char not_after[21];
        mt_cli_format_time(d->expiring[i]->info->not_after, not_after);
        printf("  #%-6lld %-32s %s\n", (long long)d->expiring[i]->id,
               mt_cli_first_email(d->expiring[i]), not_after);
    }
    printf("renewals         %zu in progress\n", s->pending_renewals);
    for (size_t i = 0; i < d->n_renewals; i++)
        printf("  #%-6lld %-32s %s\n", (long long)d->renewals[i]->id, d->renewals[i]->email,
               mt_renewal_state_name(d->renewals[i]->state));
    if (d->n_events) {
        char at[21];
        mt_cli_format_time(d->last_event->at, at);
        printf("last change      %s %s\n", at, d->last_event->action);
    }
}

void mt_overview_clear(mt_overview *d)
{
    mt_org_free(d->org);
    mt_cert_list_free(d->expiring, d->n_expiring);
    mt_renewal_list_free(d->renewals, d->n_renewals);
    mt_event_list_free(d->last_event, d->n_events);
}

int mt_cmd_status(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"days", required_argument, NULL, OPT_DAYS},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_overview d = {.days = 30};
    mt_store *store = NULL;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "status", status_help, argc, argv, options, &code)) >= 0) {
        if (!mt_cli_parse_int(cli, "status", "--days", optarg, 0, 36500, &d.days, &code))
            goto out;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "status", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if ((code = mt_cli_open_or_fail(cli, MT_OPEN_READONLY, &store)) != MT_EXIT_OK)
        goto out;
    mt_status st = mt_overview_gather(store, cli->org_name, &d);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "status");
        goto out;
    }
    if (cli->json)
        mt_cli_print_json(mt_overview_json(store, &d));
    else
        print_status(store, &d);
out:
    mt_overview_clear(&d);
    mt_store_close(store);
    return code;
}
