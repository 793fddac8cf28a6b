/* mailtoken init: create the store and an organisation with its SO PIN. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char init_help[] =
    "Usage: mailtoken init [--org NAME] [--store-key-file F]\n"
    "                      [--so-pin-file F | --so-pin-env VAR | --so-pin-fd N]\n"
    "\n"
    "Creates the store (0600) if it does not exist and an organisation in it.\n"
    "The SO PIN (which sets and resets user PINs) is asked on a terminal, checked\n"
    "against the PIN policy, then asked again; else read from the file, variable\n"
    "or descriptor given, else from $MAILTOKEN_SO_PIN.\n"
    "\n"
    "  --org NAME            organisation name (default: the global --org, else\n"
    "                        \"default\")\n"
    "  --store-key-file F    create F (0600): a store key (32 random bytes) mixed\n"
    "                        into every PIN key, so that the store file alone is\n"
    "                        useless; name it as `store_key_file` in the config\n"
    "                        (an existing key file is used as it is)\n"
    "  --so-pin-file F       read the SO PIN from F (first line)\n"
    "  --so-pin-env VAR      read the SO PIN from the environment variable VAR\n"
    "  --so-pin-fd N         read the SO PIN from file descriptor N (first line)\n"
    "  --json                print {\"store\", \"organization\": {\"id\", \"name\"},\n"
    "                        \"storeKeyFile\" (or null)}\n";

enum { OPT_ORG = 1, OPT_STORE_KEY_FILE, OPT_SO_PIN = 100 };

/* --store-key-file: the key file (made now when missing) becomes the
 * config's store_key_file for this run; the config must not name another. */
static mt_status use_store_key_file(mt_cli *cli, const char *path, bool *created)
{
    mt_status st = MT_OK;
    char *copy = NULL;
    *created = false;
    if (cli->config->store_key_file && strcmp(cli->config->store_key_file, path) != 0)
        return mt_cli_set_error(MT_ERR_CONFLICT, "--store-key-file: the config (%s) names "
                                                 "another store_key_file, %s",
                                cli->config->source_path ? cli->config->source_path : "config",
                                cli->config->store_key_file);
    if (access(path, F_OK) != 0) {
        if ((st = mt_store_key_file_create(path)) != MT_OK)
            return st;
        *created = true;
    }
    if (!(copy = strdup(path)))
        return MT_ERR_NOMEM;
    free(cli->config->store_key_file);
    cli->config->store_key_file = copy;
    return MT_OK;
}

int mt_cmd_init(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"org", required_argument, NULL, OPT_ORG},
        {"store-key-file", required_argument, NULL, OPT_STORE_KEY_FILE},
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    const char *org_name = cli->org_name ? cli->org_name : "default";
    const char *key_file = NULL;
    bool key_created = false;
    mt_store *store = NULL;
    mt_secret *so_pin = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st;
    while ((opt = mt_cli_getopt(cli, "init", init_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_ORG)
            org_name = optarg;
        else if (opt == OPT_STORE_KEY_FILE)
            key_file = optarg;
        else
            mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg);
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "init", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, "init", &so_src, &code) ||
        !mt_cli_name_ok(cli, "--org", org_name, &code))
        goto out;
    const mt_config *config = NULL;
    st = mt_cli_config(cli, &config);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "config");
        goto out;
    }
    /* before the store exists: a refused PIN creates nothing */
    st = mt_cli_read_new_so_pin(cli, &so_src, &so_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "SO PIN");
        goto out;
    }
    bool key_in_config = cli->config->store_key_file != NULL;
    if (key_file && (st = use_store_key_file(cli, key_file, &key_created)) != MT_OK) {
        code = mt_cli_fail(cli, st, "--store-key-file");
        goto out;
    }
    if ((code = mt_cli_open_or_fail(cli, MT_OPEN_CREATE, &store)) != MT_EXIT_OK)
        goto out;
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
        json_object_set_new(obj, "storeKeyFile", key_file ? json_string(key_file) : json_null());
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("store %s: organisation \"%s\" created (id %lld)\n", mt_store_path(store), org_name,
               (long long)org_id);
    }
    if (key_file && !key_in_config) /* every program opening the store needs it */
        fprintf(stderr, "%s: warning: add `store_key_file = %s` to the configuration: without "
                        "it no PIN of this organisation opens\n", cli->prog, key_file);
out:
    if (code != MT_EXIT_OK && key_created)
        unlink(key_file); /* nothing was made with it */
    mt_secret_free(so_pin);
    mt_store_close(store);
    return code;
}
