/* mailtoken log: the audit trail, newest first. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char log_help[] =
    "Usage: mailtoken log [--action PREFIX] [--email E] [--since WHEN] [--limit N]\n"
    "\n"
    "Shows the audit trail, newest first.\n"
    "  --action PREFIX  events whose action starts with PREFIX (\"account.\", \"cert.import\")\n"
    "  --email E        events about E (their subject)\n"
    "  --since WHEN     YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or an age: 30m, 12h, 7d\n"
    "  --limit N        at most N events (default 50; 0: all)\n"
    "  --json           {\"events\": [{\"id\", \"at\", \"actor\", \"action\", \"subject\",\n"
    "                   \"organizationId\", \"detail\"}]}\n";

enum { OPT_ACTION = 1, OPT_EMAIL, OPT_SINCE, OPT_LIMIT };

int mt_cmd_log(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"action", required_argument, NULL, OPT_ACTION},
        {"email", required_argument, NULL, OPT_EMAIL},
        {"since", required_argument, NULL, OPT_SINCE},
        {"limit", required_argument, NULL, OPT_LIMIT},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_event_query query = {.limit = 50};
    mt_store *store = NULL;
    mt_event *events = NULL;
    size_t n = 0;
    long long limit = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "log", log_help, argc, argv, options, &code)) >= 0) {
        switch (opt) {
        case OPT_ACTION:
        case OPT_EMAIL:
            if (!mt_cli_text_ok(cli, opt == OPT_ACTION ? "--action" : "--email", optarg, &code))
                goto out;
            *(opt == OPT_ACTION ? &query.action : &query.subject) = optarg;
            break;
        case OPT_SINCE:
            if (!mt_cli_parse_when(optarg, -1, &query.since)) {
                code = mt_cli_usage_error(cli, "log", "--since: '%s': not a date or an age",
                                          optarg);
                goto out;
            }
            break;
        case OPT_LIMIT:
            if (!mt_cli_parse_int(cli, "log", "--limit", optarg, 0, 1000000000, &limit, &code))
                goto out;
            query.limit = (size_t)limit;
            break;
        }
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "log", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if ((code = mt_cli_open_or_fail(cli, MT_OPEN_READONLY, &store)) != MT_EXIT_OK)
        goto out;
    mt_status st = MT_OK;
    if (cli->org_name)
        st = mt_cli_org(cli, store, &query.org_id);
    if (st == MT_OK)
        st = mt_store_event_list(store, &query, &events, &n);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "log");
        goto out;
    }
    if (cli->json) {
        json_t *array = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(array, mt_json_event(&events[i]));
        json_t *doc = json_object();
        json_object_set_new(doc, "events", array);
        mt_cli_print_json(doc);
        goto out;
    }
    printf("%-6s %-20s %-16s %-24s %-32s %s\n", "ID", "AT", "ACTOR", "ACTION", "SUBJECT",
           "DETAIL");
    for (size_t i = 0; i < n; i++) {
        char at[21];
        mt_cli_format_time(events[i].at, at);
        printf("%-6lld %-20s %-16s %-24s %-32s %s\n", (long long)events[i].id, at,
               events[i].actor ? events[i].actor : "", events[i].action ? events[i].action : "",
               events[i].subject ? events[i].subject : "", events[i].detail ? events[i].detail : "");
    }
out:
    mt_event_list_free(events, n);
    mt_store_close(store);
    return code;
}
