/* mailtoken init: create the store and an organisation with its SO PIN. */
#include "cli.h"

#include <stdlib.h>

static const char init_help[] =
    "Usage: mailtoken init [--org NAME] [--so-pin-file F | --so-pin-env VAR | --so-pin-fd N]\n"
    "\n"
    "Creates the store (0600) if it does not exist and an organisation in it.\n"
    "The SO PIN (which sets and resets user PINs) is asked twice on a terminal,\n"
    "else read from the file, variable or descriptor given, else from\n"
    "$MAILTOKEN_SO_PIN.\n"
    "\n"
    "  --org NAME         organisation name (default: the global --org, else \"default\")\n"
    "  --so-pin-file F    read the SO PIN from F (first line)\n"
    "  --so-pin-env VAR   read the SO PIN from the environment variable VAR\n"
    "  --so-pin-fd N      read the SO PIN from file descriptor N (first line)\n"
    "  --json             print {\"store\", \"organization\": {\"id\", \"name\"}}\n";

enum { OPT_ORG = 1, OPT_SO_PIN = 100 };

int mt_cmd_init(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"org", required_argument, NULL, OPT_ORG},
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    const char *org_name = cli->org_name ? cli->org_name : "default";
    mt_store *store = NULL;
    mt_secret *so_pin = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st;
    while ((opt = mt_cli_getopt(cli, "init", init_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_ORG)
            org_name = optarg;
        else
            mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg);
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "init", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, "init", &so_src, &code))
        goto out;
    const mt_config *config = NULL;
    st = mt_cli_config(cli, &config);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "configuration");
        goto out;
    }
    st = mt_cli_read_secret_from(cli, &so_src, true, &so_pin);
    if (st == MT_OK) /* before the store exists: a refused PIN creates nothing */
        st = mt_pin_policy_check(config, so_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "SO PIN");
        goto out;
    }
    st = mt_cli_open_store(cli, MT_OPEN_CREATE, &store);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "store");
        goto out;
    }
    st = mt_store_org_create(store, org_name, so_pin, &org_id);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "organisation");
        goto out;
    }
    if (cli->json) {
        json_t *org = json_object();
        json_object_set_new(org, "id", json_integer(org_id));
        json_object_set_new(org, "name", json_string(org_name));
        json_t *obj = json_object();
        json_object_set_new(obj, "store", json_string(mt_store_path(store)));
        json_object_set_new(obj, "organization", org);
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("store %s: organisation \"%s\" created (id %lld)\n", mt_store_path(store), org_name,
               (long long)org_id);
    }
out:
    mt_secret_free(so_pin);
    mt_store_close(store);
    return code;
}
