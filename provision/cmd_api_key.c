/* mailtoken api-key: the Bearer keys of `mailtoken serve` (create, list, revoke). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char create_help[] =
    "Usage: mailtoken api-key create --org ORG --scope read|write|admin\n"
    "                                [--expires WHEN] [--name TEXT] [--key-file FILE]\n"
    "\n"
    "Makes an API key for `mailtoken serve`, valid for one organisation.  The key\n"
    "is shown once (the store keeps only its hash): on standard output, or written\n"
    "to FILE (created 0600, never overwritten) with --key-file.\n"
    "\n"
    "  --org ORG        the organisation (or the global --org; the only one by default)\n"
    "  --scope SCOPE    read: GET requests; write: also uploads, accounts, renewals;\n"
    "                   admin: also deletions and the audit trail\n"
    "  --expires WHEN   YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a duration (90d, 12h);\n"
    "                   default: never\n"
    "  --name TEXT      what the key is for (shown by `api-key list`)\n"
    "  --key-file FILE  write the key to FILE instead of standard output\n"
    "  --json           {\"id\", \"key\" (or \"keyFile\"), \"scope\", \"organization\", ...}\n";

static const char list_help[] =
    "Usage: mailtoken api-key list [--org ORG] [--all]\n"
    "\n"
    "Lists API keys (of every organisation without --org): id, organisation,\n"
    "scope, the key's first characters, expiry.  The keys themselves are not kept.\n"
    "  --all    revoked keys too\n"
    "  --json   {\"apiKeys\": [{\"id\", \"organization\", \"scope\", \"prefix\", \"name\",\n"
    "           \"createdAt\", \"expiresAt\", \"revokedAt\"}]}\n";

static const char revoke_help[] =
    "Usage: mailtoken api-key revoke ID [--org ORG]\n"
    "\n"
    "Revokes an API key at once: the server refuses it from its next request.\n"
    "  --json   the revoked key, as `api-key list` shows it\n";

enum { OPT_ORG = 1, OPT_SCOPE, OPT_EXPIRES, OPT_NAME, OPT_KEY_FILE, OPT_ALL };

static json_t *time_or_null(int64_t t)
{
    return t ? mt_json_time(t) : json_null();
}

static json_t *key_json(const mt_api_key *k)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(k->id));
    json_object_set_new(obj, "organization", json_string(k->org_name));
    json_object_set_new(obj, "scope", json_string(mt_api_scope_name(k->scope)));
    json_object_set_new(obj, "prefix", json_string(k->prefix));
    json_object_set_new(obj, "name", k->name ? json_string(k->name) : json_null());
    json_object_set_new(obj, "createdAt", mt_json_time(k->created_at));
    json_object_set_new(obj, "expiresAt", time_or_null(k->expires_at));
    json_object_set_new(obj, "revokedAt", time_or_null(k->revoked_at));
    return obj;
}

/* The key in a new 0600 file (never over an existing one). */
static mt_status write_key_file(const char *path, const mt_secret *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return mt_cli_set_error(errno == EEXIST ? MT_ERR_CONFLICT : MT_ERR_IO,
                                "%s: %s", path, errno == EEXIST ? "already exists" : strerror(errno));
    bool ok = write(fd, key->data, key->len) == (ssize_t)key->len && write(fd, "\n", 1) == 1;
    if (close(fd) != 0)
        ok = false;
    if (!ok) {
        unlink(path);
        return mt_cli_set_error(MT_ERR_IO, "%s: cannot write the key", path);
    }
    return MT_OK;
}

/* One key as `api-key list` shows it. */
static mt_status listed_key(mt_store *store, int64_t org_id, int64_t id, json_t **out)
{
    mt_api_key *keys = NULL;
    size_t n = 0;
    *out = NULL;
    mt_status st = mt_store_api_key_list(store, org_id, true, &keys, &n);
    for (size_t i = 0; st == MT_OK && i < n; i++)
        if (keys[i].id == id)
            *out = key_json(&keys[i]);
    mt_api_key_list_free(keys, n);
    return st == MT_OK && !*out ? MT_ERR_INTERNAL : st;
}

static int print_created(mt_cli *cli, mt_store *store, int64_t org_id, int64_t id,
                         const mt_secret *key, const char *key_file)
{
    json_t *obj = NULL;
    mt_status st = listed_key(store, org_id, id, &obj);
    if (st != MT_OK)
        return mt_cli_fail(cli, st, "api-key create");
    if (cli->json) {
        if (key_file)
            json_object_set_new(obj, "keyFile", json_string(key_file));
        else
            json_object_set_new(obj, "key", json_stringn((const char *)key->data, key->len));
        mt_cli_print_json(obj);
        return MT_EXIT_OK;
    }
    if (key_file) {
        if (!cli->quiet)
            printf("API key %lld (%s, organisation %s) written to %s\n", (long long)id,
                   json_string_value(json_object_get(obj, "scope")),
                   json_string_value(json_object_get(obj, "organization")), key_file);
    } else {
        printf("%s\n", (const char *)key->data);
        mt_cli_note(cli, "API key %lld (%s, organisation %s): shown once; the store keeps only "
                         "its hash\n",
                    (long long)id, json_string_value(json_object_get(obj, "scope")),
                    json_string_value(json_object_get(obj, "organization")));
    }
    json_decref(obj);
    return MT_EXIT_OK;
}

static int key_create(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"org", required_argument, NULL, OPT_ORG},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"name", required_argument, NULL, OPT_NAME},
        {"key-file", required_argument, NULL, OPT_KEY_FILE},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *scope_text = NULL, *name = NULL, *key_file = NULL;
    int64_t expires = 0, org_id = 0, id = 0;
    mt_api_scope scope = MT_SCOPE_READ;
    mt_store *store = NULL;
    mt_secret *key = NULL;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "api-key create", create_help, argc, argv, options,
                                &code)) >= 0) {
        if (opt == OPT_ORG)
            cli->org_name = optarg;
        else if (opt == OPT_SCOPE)
            scope_text = optarg;
        else if (opt == OPT_NAME)
            name = optarg;
        else if (opt == OPT_KEY_FILE)
            key_file = optarg;
        else if (!mt_cli_parse_when(optarg, 1, &expires)) {
            code = mt_cli_usage_error(cli, "api-key create",
                                      "--expires: '%s': not a date or a duration", optarg);
            goto out;
        }
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc || !scope_text) {
        code = mt_cli_usage_error(cli, "api-key create",
                                  optind < argc ? "unexpected argument" : "--scope is required");
        goto out;
    }
    if (mt_api_scope_parse(scope_text, &scope) != MT_OK) {
        code = mt_cli_usage_error(cli, "api-key create", "--scope: %s", mt_errmsg());
        goto out;
    }
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_api_key_create(store, org_id, scope, name, expires, &id, &key);
    if (st == MT_OK && key_file && (st = write_key_file(key_file, key)) != MT_OK)
        mt_store_api_key_revoke(store, org_id, id); /* nobody will ever hold it */
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "api-key create");
        goto out;
    }
    code = print_created(cli, store, org_id, id, key, key_file);
out:
    mt_secret_free(key);
    mt_store_close(store);
    return code;
}

static void print_row(const mt_api_key *k)
{
    char created[21], expires[21] = "never";
    mt_cli_format_time(k->created_at, created);
    if (k->expires_at)
        mt_cli_format_time(k->expires_at, expires);
    const char *state = k->revoked_at                               ? "revoked"
                        : k->expires_at && k->expires_at <= time(NULL) ? "expired"
                                                                     : "active";
    printf("%-5lld %-16s %-6s %-13s %-20s %-20s %-8s %s\n", (long long)k->id, k->org_name,
           mt_api_scope_name(k->scope), k->prefix, created, expires, state, k->name ? k->name : "");
}

/* --org selects one organisation when given, else every one (0). */
static int open_for_keys(mt_cli *cli, unsigned flags, mt_store **store, int64_t *org_id)
{
    *org_id = 0;
    if (cli->org_name)
        return mt_cli_session(cli, flags, store, org_id);
    mt_status st = mt_cli_open_store(cli, flags, store);
    return st == MT_OK ? MT_EXIT_OK : mt_cli_fail(cli, st, "store");
}

static int key_list(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"org", required_argument, NULL, OPT_ORG},
        {"all", no_argument, NULL, OPT_ALL},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    bool all = false;
    mt_store *store = NULL;
    mt_api_key *keys = NULL;
    size_t n = 0;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "api-key list", list_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_ORG)
            cli->org_name = optarg;
        else
            all = true;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "api-key list", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if ((code = open_for_keys(cli, MT_OPEN_READONLY, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_api_key_list(store, org_id, all, &keys, &n);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "api-key list");
        goto out;
    }
    if (cli->json) {
        json_t *array = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(array, key_json(&keys[i]));
        mt_cli_print_json(json_pack("{s:o}", "apiKeys", array));
        goto out;
    }
    printf("%-5s %-16s %-6s %-13s %-20s %-20s %-8s %s\n", "ID", "ORGANISATION", "SCOPE", "PREFIX",
           "CREATED", "EXPIRES", "STATE", "NAME");
    for (size_t i = 0; i < n; i++)
        print_row(&keys[i]);
out:
    mt_api_key_list_free(keys, n);
    mt_store_close(store);
    return code;
}

static int key_revoke(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"org", required_argument, NULL, OPT_ORG},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_store *store = NULL;
    int64_t org_id = 0;
    long long id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "api-key revoke", revoke_help, argc, argv, options,
                                &code)) >= 0)
        cli->org_name = optarg;
    if (opt == MT_OPT_EXIT)
        goto out;
    if (argc - optind != 1) {
        code = mt_cli_usage_error(cli, "api-key revoke", "give one key ID");
        goto out;
    }
    if (!mt_cli_parse_int(cli, "api-key revoke", "ID", argv[optind], 1, INT64_MAX, &id, &code))
        goto out;
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    json_t *obj = NULL;
    mt_status st = mt_store_api_key_revoke(store, org_id, (int64_t)id);
    if (st == MT_OK && cli->json)
        st = listed_key(store, org_id, (int64_t)id, &obj);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "api-key revoke");
        goto out;
    }
    if (cli->json) {
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("API key %lld revoked\n", id);
    }
out:
    mt_store_close(store);
    return code;
}

static const char api_key_help[] = "Usage: mailtoken api-key SUBCOMMAND [OPTIONS]\n"
                                   "\n"
                                   "Bearer keys of the HTTPS API (`mailtoken serve`).\n";

int mt_cmd_api_key(mt_cli *cli, int argc, char **argv)
{
    static const mt_subcommand subs[] = {
        {"create", "make a key (shown once) for one organisation and scope", key_create},
        {"list", "list keys: id, organisation, scope, prefix, expiry", key_list},
        {"revoke", "revoke a key at once", key_revoke},
    };
    return mt_cli_dispatch(cli, "api-key", api_key_help, subs, sizeof(subs) / sizeof(subs[0]),
                           argc, argv);
}
