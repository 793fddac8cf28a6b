/* mailtoken org: the organisation's own keys (gateway mode). */
#include "cli.h"

static const char org_help[] = "Usage: mailtoken org SUBCOMMAND [OPTIONS]\n"
                               "\n"
                               "The organisation's keys.\n";

static const char export_help[] =
    "Usage: mailtoken org export-recovery-key --out FILE [SO PIN options]\n"
    "\n"
    "Writes the organisation's recovery key to FILE, created 0600 (an existing\n"
    "file is refused), for a mail gateway that signs and decrypts for every\n"
    "account without their PINs: name FILE as `recovery_key_file` in the\n"
    "gateway's config.  Whoever reads FILE can use every private key of the\n"
    "organisation: keep it on the gateway only.  Needs the SO PIN; recorded in\n"
    "the audit trail.\n"
    "\n"
    "  --out FILE                                            the key file to create\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N    the SO PIN\n"
    "  --json   {\"organization\": {\"id\", \"name\"}, \"file\"}\n"
    "Environment: MAILTOKEN_SO_PIN when set.\n";

enum { OPT_OUT = 1, OPT_SO_PIN = 100 };

static int org_export_recovery_key(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, OPT_OUT},
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *cmd = "org export-recovery-key";
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    const char *out_path = NULL;
    mt_store *store = NULL;
    mt_secret *so_pin = NULL;
    mt_org *org = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, export_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_OUT)
            out_path = optarg;
        else
            mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg);
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!out_path) {
        code = mt_cli_usage_error(cli, cmd, "--out FILE is required");
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, cmd, &so_src, &code))
        goto out;
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    mt_status st = mt_cli_read_secret_from(cli, &so_src, false, &so_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "SO PIN");
        goto out;
    }
    st = mt_store_org_export_recovery_key(store, org_id, so_pin, out_path);
    if (st == MT_OK)
        st = mt_store_org_find(store, cli->org_name, &org);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, cmd);
        goto out;
    }
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(org->id));
        json_object_set_new(o, "name", json_string(org->name));
        json_t *obj = json_object();
        json_object_set_new(obj, "organization", o);
        json_object_set_new(obj, "file", json_string(out_path));
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("recovery key of organisation \"%s\" written to %s (0600): name it as "
               "`recovery_key_file` in the gateway's config\n",
               org->name, out_path);
    }
out:
    mt_org_free(org);
    mt_secret_free(so_pin);
    mt_store_close(store);
    return code;
}

static const mt_subcommand org_subcommands[] = {
    {"export-recovery-key", "write the recovery key file of gateway mode (SO PIN)",
     org_export_recovery_key},
};

int mt_cmd_org(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "org", org_help, org_subcommands,
                           sizeof(org_subcommands) / sizeof(org_subcommands[0]), argc, argv);
}
