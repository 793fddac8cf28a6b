/* mailtoken org: the organisation's SO PIN state and the SO PIN itself, its
 * recovery key file (for unlocking a locked SO PIN, and for a gateway),
 * unlocking with that file; `org verify` and `org rewrap` are in
 * cmd_org_verify.c. */
#include "account.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_KEY_FILE = 1, OPT_SET_SO_PIN, OPT_OUT, OPT_SO_PIN = 100, OPT_NEW_SO_PIN = 110 };

static json_t *org_json(const mt_org *org)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(org->id));
    json_object_set_new(obj, "name", json_string(org->name));
    json_object_set_new(obj, "soFailedLogins", json_integer(org->so_failed_logins));
    json_object_set_new(obj, "soMaxFailures", json_integer(org->so_max_failures));
    json_object_set_new(obj, "soLocked",
                        json_boolean(org->so_max_failures && org->so_failed_logins >= org->so_max_failures));
    return obj;
}

/* The organisation selected by --org, read again after a change: *org points
 * into *orgs, freed with mt_org_list_free. */
static mt_status find_org(mt_store *store, int64_t org_id, mt_org **orgs, size_t *n, mt_org **org)
{
    *org = NULL;
    mt_status st = mt_store_org_list(store, orgs, n);
    for (size_t i = 0; st == MT_OK && i < *n && !*org; i++)
        *org = (*orgs)[i].id == org_id ? &(*orgs)[i] : NULL;
    return st == MT_OK && !*org ? MT_ERR_NOT_FOUND : st;
}

static int print_org(mt_cli *cli, mt_store *store, int64_t org_id, const char *done)
{
    mt_org *orgs = NULL, *org = NULL;
    size_t n = 0;
    mt_status st = find_org(store, org_id, &orgs, &n, &org);
    if (st != MT_OK) {
        mt_org_list_free(orgs, n);
        return mt_cli_fail(cli, st, "organisation");
    }
    if (cli->json) {
        mt_cli_print_json(org_json(org));
    } else if (!cli->quiet) {
        if (done)
            printf("organisation \"%s\": %s\n", org->name, done);
        printf("organisation     %s (id %lld)\n", org->name, (long long)org->id);
        printf("SO PIN           ");
        if (org->so_max_failures && org->so_failed_logins >= org->so_max_failures)
            printf("locked after %u failed attempts (mailtoken org unlock-so)\n", org->so_failed_logins);
        else if (org->so_max_failures)
            printf("%u failed attempts of %u\n", org->so_failed_logins, org->so_max_failures);
        else
            printf("%u failed attempts (never locks)\n", org->so_failed_logins);
    }
    mt_org_list_free(orgs, n);
    return MT_EXIT_OK;
}

/* ------------------------------------------------------------------ show */

static const char show_help[] =
    "Usage: mailtoken org show\n"
    "\n"
    "Shows the organisation (--org, or the only one) and the state of its SO PIN:\n"
    "failed attempts since the last right one, the limit, whether it is locked.\n"
    "  --json   {\"id\", \"name\", \"soFailedLogins\", \"soMaxFailures\", \"soLocked\"}\n";

static int org_show(mt_cli *cli, int argc, char **argv)
{
    mt_store *store = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK;
    if (mt_account_operands(cli, "org show", show_help, argc, argv, 0, &code) == MT_OPT_EXIT)
        return code;
    code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id);
    if (code == MT_EXIT_OK)
        code = print_org(cli, store, org_id, NULL);
    mt_store_close(store);
    return code;
}

/* --------------------------------------------------- export-recovery-key */

static const char export_help[] =
    "Usage: mailtoken org export-recovery-key --out FILE [SO PIN options]\n"
    "       mailtoken org export-recovery-key FILE [SO PIN options]\n"
    "\n"
    "Writes the organisation's recovery key (64 hex digits) to FILE, a new file\n"
    "created 0600 (an existing FILE is refused: exit 4).  The key stands for the\n"
    "SO PIN and opens every private key of the organisation.  It unlocks a locked\n"
    "SO PIN (`org unlock-so`): keep that copy offline (a safe, an encrypted USB\n"
    "stick).  A mail gateway that signs and decrypts for every account without\n"
    "their PINs is given it as `recovery_key_file` in its config: keep that copy\n"
    "on the gateway only.  Needs the SO PIN; recorded in the audit trail.\n"
    "\n"
    "  --out FILE                                            the key file to create\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N    the SO PIN\n"
    "  --json   {\"organization\": {\"id\", \"name\"}, \"file\"}\n"
    "Environment: MAILTOKEN_SO_PIN when set.\n";

static int org_export_recovery_key(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, OPT_OUT},
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    const char *cmd = "org export-recovery-key", *path = NULL;
    mt_secret *so_pin = NULL;
    mt_store *store = NULL;
    mt_org *orgs = NULL, *org = NULL;
    size_t n_orgs = 0;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, export_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_OUT)
            path = optarg;
        else
            mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg);
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (!path && optind < argc) /* the FILE operand, the same as --out FILE */
        path = argv[optind++];
    if (optind < argc) {
        code = mt_cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!path) {
        code = mt_cli_usage_error(cli, cmd, "--out FILE is required");
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, cmd, &so_src, &code))
        goto out;
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    mt_status st = mt_cli_read_secret_from(cli, &so_src, false, &so_pin);
    if (st == MT_OK)
        st = mt_store_org_export_recovery_key(store, org_id, so_pin, path);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, st == MT_ERR_PIN_INCORRECT || st == MT_ERR_PIN_LOCKED ? "SO PIN" : path);
        goto out;
    }
    if ((st = find_org(store, org_id, &orgs, &n_orgs, &org)) != MT_OK) {
        code = mt_cli_fail(cli, st, "organisation");
        goto out;
    }
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(org->id));
        json_object_set_new(o, "name", json_string(org->name));
        json_t *obj = json_object();
        json_object_set_new(obj, "organization", o);
        json_object_set_new(obj, "file", json_string(path));
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("recovery key of organisation \"%s\" written to %s (0600): keep it offline, or\n"
               "name it as `recovery_key_file` in a gateway's config\n",
               org->name, path);
    }
out:
    mt_org_list_free(orgs, n_orgs);
    mt_secret_free(so_pin);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------- unlock-so */

static const char unlock_help[] =
    "Usage: mailtoken org unlock-so --recovery-key-file FILE [--set-so-pin]\n"
    "                               [--new-so-pin-file F | --new-so-pin-env VAR | --new-so-pin-fd N]\n"
    "\n"
    "Unlocks the SO PIN after so_pin_max_failures wrong attempts, with the\n"
    "recovery key file written by `org export-recovery-key` (it stands for the SO\n"
    "PIN).  With --set-so-pin (or a --new-so-pin-* option) a new SO PIN is set at\n"
    "the same time: after an attack, or when the SO PIN is forgotten.  The new\n"
    "PIN is asked twice on a terminal and must follow the PIN policy.\n"
    "  --json   the organisation, as `org show --json`\n";

static int org_unlock_so(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"recovery-key-file", required_argument, NULL, OPT_KEY_FILE},
        {"set-so-pin", no_argument, NULL, OPT_SET_SO_PIN},
        MT_SECRET_OPTIONS("new-so-pin", OPT_NEW_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_secret_source new_src = MT_SECRET_SOURCE_INIT("new SO PIN", "new-so-pin", NULL);
    const char *cmd = "org unlock-so", *key_file = NULL;
    bool set_pin = false;
    mt_secret *new_pin = NULL;
    mt_store *store = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, unlock_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_KEY_FILE)
            key_file = optarg;
        else if (opt == OPT_SET_SO_PIN || mt_cli_secret_opt(&new_src, opt, OPT_NEW_SO_PIN, optarg))
            set_pin = true;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!key_file) {
        code = mt_cli_usage_error(cli, cmd, "--recovery-key-file is required");
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, cmd, &new_src, &code))
        goto out;
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    mt_status st = set_pin ? mt_cli_read_new_so_pin(cli, &new_src, &new_pin) : MT_OK;
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, new_src.what);
        goto out;
    }
    st = mt_store_org_unlock_so(store, org_id, key_file, new_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, st == MT_ERR_PIN_POLICY ? NULL : key_file);
        goto out;
    }
    code = print_org(cli, store, org_id, set_pin ? "SO PIN unlocked and changed" : "SO PIN unlocked");
out:
    mt_secret_free(new_pin);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------ set-so-pin */

static const char set_so_pin_help[] =
    "Usage: mailtoken org set-so-pin [--so-pin-file F | --so-pin-env VAR | --so-pin-fd N]\n"
    "                                [--new-so-pin-file F | --new-so-pin-env VAR | --new-so-pin-fd N]\n"
    "\n"
    "Changes the SO PIN; the current one is required.  The new one is asked twice\n"
    "on a terminal (refused at its first entry when the policy refuses it) and\n"
    "must follow the PIN policy (so_pin_min_length, 12 by default; no common\n"
    "password).  It is wrapped under the configured Argon2id limits (so_kdf_*)\n"
    "and the store key file, if any.\n"
    "\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N              the SO PIN\n"
    "  --new-so-pin-file F | --new-so-pin-env VAR | --new-so-pin-fd N  the new SO PIN\n"
    "  --json   the organisation, as `org show --json`\n"
    "Environment: MAILTOKEN_SO_PIN when set.\n";

static int org_set_so_pin(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_SECRET_OPTIONS("new-so-pin", OPT_NEW_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    mt_secret_source new_src = MT_SECRET_SOURCE_INIT("new SO PIN", "new-so-pin", NULL);
    const char *cmd = "org set-so-pin";
    mt_secret *so_pin = NULL, *new_pin = NULL;
    mt_store *store = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, set_so_pin_help, argc, argv, options, &code)) >= 0)
        if (!mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg))
            mt_cli_secret_opt(&new_src, opt, OPT_NEW_SO_PIN, optarg);
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, cmd, &so_src, &code) || !mt_cli_secret_source_ok(cli, cmd, &new_src, &code))
        goto out;
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    mt_status st = mt_cli_read_secret_from(cli, &so_src, false, &so_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, so_src.what);
        goto out;
    }
    if ((st = mt_cli_read_new_so_pin(cli, &new_src, &new_pin)) != MT_OK) {
        code = mt_cli_fail(cli, st, new_src.what);
        goto out;
    }
    if ((st = mt_store_so_set_pin(store, org_id, so_pin, new_pin)) != MT_OK) {
        code = mt_cli_fail(cli, st, st == MT_ERR_PIN_POLICY ? NULL : "SO PIN");
        goto out;
    }
    code = print_org(cli, store, org_id, "SO PIN changed");
out:
    mt_secret_free(so_pin);
    mt_secret_free(new_pin);
    mt_store_close(store);
    return code;
}

static const char org_help[] = "Usage: mailtoken org SUBCOMMAND [OPTIONS]\n"
                               "\n"
                               "The organisation: its SO PIN, its recovery key, and the\n"
                               "checks of what the SO PIN vouches for.\n";

static const mt_subcommand org_subcommands[] = {
    {"show", "the organisation and its SO PIN state (failed attempts, locked)", org_show},
    {"set-so-pin", "change the SO PIN (the current one required)", org_set_so_pin},
    {"verify", "check every token key, sealed key and tag (SO PIN)", mt_cmd_org_verify},
    {"rewrap", "verify, then tag and record the keys that pass; SO PIN rewrapped", mt_cmd_org_rewrap},
    {"export-recovery-key", "write the recovery key to a new 0600 file: SO PIN unlock, gateway mode",
     org_export_recovery_key},
    {"unlock-so", "unlock a locked SO PIN with the recovery key file", org_unlock_so},
};

int mt_cmd_org(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "org", org_help, org_subcommands,
                           sizeof(org_subcommands) / sizeof(org_subcommands[0]), argc, argv);
}
