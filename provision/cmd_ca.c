/* mailtoken ca: CA profiles used by `mailtoken renew`. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "renew/creds.h"
#include "renew/driver.h"
#include "renew/options.h"

static const char ca_help[] =
    "Usage: mailtoken ca SUBCOMMAND ...\n"
    "\n"
    "CA profiles: where and how `mailtoken renew` orders certificates.\n";

static const char add_help[] =
    "Usage: mailtoken ca add NAME --kind sectigo|internetx --url URL --credentials FILE\n"
    "                        [--option KEY=VALUE]...\n"
    "\n"
    "  --kind K           sectigo (legacy reseller API, !AutoReplaceSMIME) or internetx\n"
    "                     (InterNetX JSON API, GlobalSign PersonalSign)\n"
    "  --url URL          API base, https only (https://secure.trust-provider.com/products,\n"
    "                     https://api.autodns.com/v1)\n"
    "  --credentials F    file with `login = ...` and `password = ...` lines (InterNetX:\n"
    "                     also `context = N`); must be mode 0600; read when used, never copied\n"
    "  --option K=V       kept with the profile (meanings and defaults in docs/renewals.md):\n"
    "                       key, hash                  the new key and the CSR's hash\n"
    "                       ca_bundle, trust_anchors   trust for the CA's server, roots an\n"
    "                                                  issued certificate must chain to\n"
    "                       timeout_ms, connect_timeout_ms, max_rps\n"
    "                       poll_initial, poll_max     seconds between polls\n"
    "                       retry_initial, retry_max, rate_limit_initial, max_attempts\n"
    "                       sectigo: response_format, signature_hash, order.EMAIL\n"
    "                       internetx: contact_id (required), context, product,\n"
    "                                  lifetime_months, firstname, lastname\n"
    "                     an unknown key or a bad value is refused\n"
    "  --json             the PROFILE {\"id\", \"name\", \"kind\", \"url\", \"credentialsFile\",\n"
    "                     \"options\", \"createdAt\"}\n";

static const char list_help[] =
    "Usage: mailtoken ca list\n"
    "\n"
    "Lists the organisation's CA profiles: name, kind, URL.\n"
    "  --json   {\"total\", \"profiles\": [PROFILE...]}\n";
static const char show_help[] =
    "Usage: mailtoken ca show NAME\n"
    "\n"
    "Shows a CA profile: kind, URL, credentials file (never its contents), options.\n"
    "  --json   the PROFILE\n";
static const char remove_help[] =
    "Usage: mailtoken ca remove NAME\n"
    "\n"
    "Removes a CA profile (exit 4 while a renewal under way uses it).\n"
    "  --json   {\"removed\": NAME}\n";
static const char test_help[] =
    "Usage: mailtoken ca test NAME\n"
    "\n"
    "Authenticates at the CA without ordering anything.  Exit 0 when the login is\n"
    "accepted, 6 when it is refused, 9 for any other answer.\n"
    "  --json   {\"name\", \"ok\", \"message\"}\n";

static json_t *profile_json(const mt_ca_profile *p)
{
    json_t *options = json_loads(p->options ? p->options : "{}", 0, NULL);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)p->id, "name",
                     p->name, "kind", p->kind, "url", p->url, "credentialsFile",
                     p->credentials_file, "options", options ? options : json_object(),
                     "createdAt", mt_json_time(p->created_at));
}

/* KEY=VALUE into the options object: digits become numbers. */
static bool add_option(json_t *options, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    char *key = strndup(arg, (size_t)(eq - arg));
    const char *value = eq + 1;
    bool digits = *value != '\0' && strlen(value) < 18;
    for (const char *p = value; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    json_object_set_new(options, key,
                        digits ? json_integer(strtoll(value, NULL, 10)) : json_string(value));
    free(key);
    return true;
}

static int ca_add(mt_cli *cli, int argc, char **argv)
{
    enum { OPT_KIND = 1, OPT_URL, OPT_CREDS, OPT_OPTION };
    static const struct option options[] = {
        {"kind", required_argument, NULL, OPT_KIND},
        {"url", required_argument, NULL, OPT_URL},
        {"credentials", required_argument, NULL, OPT_CREDS},
        {"option", required_argument, NULL, OPT_OPTION},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *kind = NULL, *url = NULL, *creds = NULL;
    json_t *opts = json_object();
    char *abs_creds = NULL, *opts_text = NULL;
    mt_store *store = NULL;
    int64_t org_id = 0, id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st;
    while ((opt = mt_cli_getopt(cli, "ca add", add_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_KIND)
            kind = optarg;
        else if (opt == OPT_URL)
            url = optarg;
        else if (opt == OPT_CREDS)
            creds = optarg;
        else if (opt == OPT_OPTION && !add_option(opts, optarg)) {
            code = mt_cli_usage_error(cli, "ca add", "--option: '%s' is not KEY=VALUE", optarg);
            goto out;
        }
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    const mt_driver *drv = kind ? mt_driver_find(kind) : NULL;
    if (optind + 1 != argc) {
        code = mt_cli_usage_error(cli, "ca add", "one profile NAME is required");
        goto out;
    }
    if (!drv || !url || !creds) {
        code = mt_cli_usage_error(cli, "ca add", "%s",
                                  !kind  ? "--kind is required"
                                  : !drv ? "--kind must be sectigo or internetx"
                                  : !url ? "--url is required"
                                         : "--credentials is required");
        goto out;
    }
    if (!mt_cli_name_ok(cli, "NAME", argv[optind], &code))
        goto out;
    if (strncmp(url, "https://", 8) != 0) {
        code = mt_cli_usage_error(cli, "ca add", "--url: '%s' is not an https:// URL", url);
        goto out;
    }
    st = mt_ca_creds_check_mode(creds);
    if (st == MT_OK)
        st = mt_ca_options_check(opts);
    if (st == MT_OK && drv->check_options)
        st = drv->check_options(opts);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "ca add");
        goto out;
    }
    abs_creds = realpath(creds, NULL);
    opts_text = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
    if ((code = mt_cli_session(cli, 0, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    mt_ca_profile profile = {.org_id = org_id,
                             .name = argv[optind],
                             .kind = (char *)kind,
                             .url = (char *)url,
                             .credentials_file = abs_creds ? abs_creds : (char *)creds,
                             .options = opts_text};
    st = mt_store_ca_add(store, &profile, &id);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "ca add");
        goto out;
    }
    if (cli->json) {
        profile.id = id;
        mt_cli_print_json(profile_json(&profile));
    } else if (!cli->quiet) {
        printf("CA profile %s (%s) added\n", argv[optind], kind);
    }
out:
    json_decref(opts);
    free(abs_creds);
    free(opts_text);
    mt_store_close(store);
    return code;
}

static int ca_list(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {MT_CLI_COMMON_OPTIONS, {0}};
    mt_store *store = NULL;
    mt_ca_profile *profiles = NULL;
    size_t n = 0;
    int64_t org_id;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "ca list", list_help, argc, argv, options, &code)) >= 0)
        ;
    if (opt == MT_OPT_EXIT || (code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id)))
        goto out;
    mt_status st = mt_store_ca_list(store, org_id, &profiles, &n);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "ca list");
        goto out;
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, profile_json(&profiles[i]));
        json_t *doc = json_object();
        json_object_set_new(doc, "total", json_integer((json_int_t)n));
        json_object_set_new(doc, "profiles", arr);
        mt_cli_print_json(doc);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-20s %-10s %s\n", profiles[i].name, profiles[i].kind, profiles[i].url);
    }
out:
    mt_ca_profile_list_free(profiles, n);
    mt_store_close(store);
    return code;
}

/* The profile named by the one operand; returns an exit code. */
static int named_profile(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                         unsigned flags, mt_store **store, mt_ca_profile **profile)
{
    static const struct option options[] = {MT_CLI_COMMON_OPTIONS, {0}};
    int64_t org_id;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, help, argc, argv, options, &code)) >= 0)
        ;
    if (opt == MT_OPT_EXIT)
        return code;
    if (optind + 1 != argc)
        return mt_cli_usage_error(cli, cmd, "one profile NAME is required");
    if ((code = mt_cli_session(cli, flags, store, &org_id)) != MT_EXIT_OK)
        return code;
    mt_status st = profile ? mt_store_ca_get(*store, org_id, argv[optind], profile)
                           : mt_store_ca_remove(*store, org_id, argv[optind]);
    return st == MT_OK ? MT_EXIT_OK : mt_cli_fail(cli, st, argv[optind]);
}

static int ca_show(mt_cli *cli, int argc, char **argv)
{
    mt_store *store = NULL;
    mt_ca_profile *p = NULL;
    int code = named_profile(cli, "ca show", show_help, argc, argv, MT_OPEN_READONLY, &store, &p);
    if (code == MT_EXIT_OK && cli->json) {
        mt_cli_print_json(profile_json(p));
    } else if (code == MT_EXIT_OK) {
        char created[21];
        mt_cli_format_time(p->created_at, created);
        printf("name:        %s\nkind:        %s\nurl:         %s\ncredentials: %s\n"
               "options:     %s\ncreated:     %s\n",
               p->name, p->kind, p->url, p->credentials_file, p->options ? p->options : "{}",
               created);
    }
    mt_ca_profile_free(p);
    mt_store_close(store);
    return code;
}

static int ca_remove(mt_cli *cli, int argc, char **argv)
{
    mt_store *store = NULL;
    int code = named_profile(cli, "ca remove", remove_help, argc, argv, 0, &store, NULL);
    if (code == MT_EXIT_OK && cli->json)
        mt_cli_print_json(json_pack("{s:s}", "removed", argv[argc - 1]));
    else if (code == MT_EXIT_OK)
        mt_cli_note(cli, "CA profile %s removed\n", argv[argc - 1]);
    mt_store_close(store);
    return code;
}

static int ca_test(mt_cli *cli, int argc, char **argv)
{
    mt_store *store = NULL;
    mt_ca_profile *p = NULL;
    mt_drv_ctx ctx = {0};
    mt_drv_result res = {.delay = -1};
    int code = named_profile(cli, "ca test", test_help, argc, argv, MT_OPEN_READONLY, &store, &p);
    if (code != MT_EXIT_OK)
        goto out;
    const mt_driver *drv = mt_driver_find(p->kind);
    ctx.store = store;
    ctx.org_id = p->org_id;
    ctx.profile = p;
    ctx.options = json_loads(p->options ? p->options : "{}", 0, NULL);
    ctx.http.ca_bundle = mt_opt_str(ctx.options, "ca_bundle", NULL);
    if (!ctx.http.ca_bundle && cli->config) /* loaded with the store */
        ctx.http.ca_bundle = cli->config->ca_bundle;
    ctx.http.timeout_ms = mt_opt_int(ctx.options, "timeout_ms", 30000);
    if (!drv) {
        code = mt_cli_fail(cli, mt_cli_set_error(MT_ERR_INVALID, "unknown kind '%s'", p->kind),
                           p->name);
        goto out;
    }
    drv->test_auth(&ctx, &res);
    code = res.outcome == MT_DRV_OK     ? MT_EXIT_OK
           : res.outcome == MT_DRV_AUTH ? MT_EXIT_AUTH
                                        : MT_EXIT_CA;
    if (cli->json)
        mt_cli_print_json(json_pack("{s:s, s:b, s:s}", "name", p->name, "ok",
                                    code == MT_EXIT_OK, "message", res.message));
    else if (code == MT_EXIT_OK)
        mt_cli_note(cli, "%s: %s\n", p->name, res.message);
    else
        fprintf(stderr, "%s ca test: %s: %s\n", cli->prog, p->name, res.message);
out:
    free(res.pem);
    json_decref(ctx.options);
    mt_ca_creds_free(ctx.creds);
    mt_ca_profile_free(p);
    mt_store_close(store);
    return code;
}

static const mt_subcommand ca_subcommands[] = {
    {"add", "add a CA profile (kind, URL, 0600 credentials file, options)", ca_add},
    {"list", "list the CA profiles", ca_list},
    {"show", "show one CA profile", ca_show},
    {"remove", "remove a CA profile", ca_remove},
    {"test", "check the login at the CA without ordering", ca_test},
};

int mt_cmd_ca(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "ca", ca_help, ca_subcommands,
                           sizeof ca_subcommands / sizeof ca_subcommands[0], argc, argv);
}
