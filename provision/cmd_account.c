/* mailtoken account: create, list, show, set-primary, add-to-history, delete
 * (PINs: cmd_account_pin.c). */
#include "account.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_PRIMARY = 1, OPT_HISTORY, OPT_LIMIT, OPT_OFFSET, OPT_PURGE };

int mt_account_operands(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                        int n_operands, int *code)
{
    static const struct option options[] = {MT_CLI_COMMON_OPTIONS, {0}};
    int opt;
    while ((opt = mt_cli_getopt(cli, cmd, help, argc, argv, options, code)) >= 0)
        ;
    if (opt == MT_OPT_EXIT)
        return opt;
    if (argc - optind != n_operands) {
        *code = mt_cli_usage_error(cli, cmd, "expected %d argument%s", n_operands,
                                   n_operands == 1 ? "" : "s");
        return MT_OPT_EXIT;
    }
    return MT_OPT_END;
}

int mt_account_print_after(mt_cli *cli, mt_store *store, int64_t org_id, const char *email,
                           const char *what)
{
    mt_account *account = NULL;
    mt_status st = mt_store_account_get(store, org_id, email, &account);
    if (st != MT_OK)
        return mt_cli_fail(cli, st, email);
    if (cli->json)
        mt_cli_print_json(mt_json_account(account));
    else if (!cli->quiet)
        printf("account %s: %s (primary #%lld, %zu in history)\n", account->email, what,
               (long long)account->primary_cert_id, account->n_history);
    mt_account_free(account);
    return MT_EXIT_OK;
}

/* ---------------------------------------------------------------- create */

static const char create_help[] =
    "Usage: mailtoken account create EMAIL --primary CERT [--history CERT...]\n"
    "\n"
    "Creates an email account.  CERT is a certificate id or SHA-256 fingerprint.\n"
    "--history lists the account's certificate history (repeat it or separate with\n"
    "commas); the primary must be in it.  Without --history the history is the\n"
    "primary alone.  Every certificate must name EMAIL.\n"
    "  --json   the ACCOUNT\n";

/* Adds the certificates of a comma-separated list to ids. */
static mt_status add_refs(mt_store *store, int64_t org_id, const char *list, int64_t **ids,
                          size_t *n)
{
    char *copy = strdup(list), *save = NULL;
    mt_status st = copy ? MT_OK : MT_ERR_NOMEM;
    for (char *ref = copy ? strtok_r(copy, ",", &save) : NULL; ref && st == MT_OK;
         ref = strtok_r(NULL, ",", &save)) {
        int64_t *grown = realloc(*ids, (*n + 1) * sizeof(**ids));
        if (!grown) {
            st = MT_ERR_NOMEM;
            break;
        }
        *ids = grown;
        st = mt_cli_cert_id(store, org_id, ref, &(*ids)[*n]);
        if (st == MT_OK)
            (*n)++;
    }
    free(copy);
    return st;
}

static int account_create(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"primary", required_argument, NULL, OPT_PRIMARY},
        {"history", required_argument, NULL, OPT_HISTORY},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *primary = NULL;
    char **history_refs = calloc((size_t)argc + 1, sizeof(char *));
    size_t n_refs = 0, n_history = 0;
    int64_t *history = NULL, org_id = 0, primary_id = 0;
    mt_store *store = NULL;
    int code = MT_EXIT_OK, opt;
    mt_status st = MT_OK;
    while ((opt = mt_cli_getopt(cli, "account create", create_help, argc, argv, options,
                                &code)) >= 0) {
        if (opt == OPT_PRIMARY)
            primary = optarg;
        else if (history_refs)
            history_refs[n_refs++] = optarg;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (!history_refs) {
        code = mt_cli_fail(cli, MT_ERR_NOMEM, "account create");
        goto out;
    }
    if (argc - optind != 1 || !primary) {
        code = mt_cli_usage_error(cli, "account create", "give EMAIL and --primary CERT");
        goto out;
    }
    const char *email = argv[optind];
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    st = mt_cli_cert_id(store, org_id, primary, &primary_id);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "--primary");
        goto out;
    }
    for (size_t i = 0; i < n_refs && st == MT_OK; i++)
        st = add_refs(store, org_id, history_refs[i], &history, &n_history);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "--history");
        goto out;
    }
    st = n_refs ? mt_store_account_create(store, org_id, email, primary_id, history, n_history)
                : mt_store_account_create(store, org_id, email, primary_id, &primary_id, 1);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    code = mt_account_print_after(cli, store, org_id, email, "created");
out:
    free(history_refs);
    free(history);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------------ list */

static const char list_help[] =
    "Usage: mailtoken account list [--limit N] [--offset N]\n"
    "\n"
    "Lists the organisation's email accounts by email.\n"
    "  --json   {\"total\", \"limit\", \"offset\", \"accounts\": [ACCOUNT...]}\n";

static int account_list(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"offset", required_argument, NULL, OPT_OFFSET},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    long long limit = 0, offset = 0;
    mt_store *store = NULL;
    mt_account **accounts = NULL;
    size_t n = 0, total = 0;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "account list", list_help, argc, argv, options, &code)) >=
           0) {
        if (!mt_cli_parse_int(cli, "account list", opt == OPT_LIMIT ? "--limit" : "--offset",
                              optarg, 0, 1000000000, opt == OPT_LIMIT ? &limit : &offset, &code))
            goto out;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "account list", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_account_list(store, org_id, (size_t)limit, (size_t)offset, &accounts,
                                         &n, &total);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "account list");
        goto out;
    }
    if (cli->json) {
        json_t *array = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(array, mt_json_account(accounts[i]));
        json_t *doc = json_object();
        json_object_set_new(doc, "total", json_integer((json_int_t)total));
        json_object_set_new(doc, "limit", json_integer((json_int_t)limit));
        json_object_set_new(doc, "offset", json_integer((json_int_t)offset));
        json_object_set_new(doc, "accounts", array);
        mt_cli_print_json(doc);
        goto out;
    }
    printf("%-40s %-8s %-8s %s\n", "EMAIL", "KIND", "PRIMARY", "HISTORY");
    for (size_t i = 0; i < n; i++)
        printf("%-40s %-8s #%-7lld %zu\n", accounts[i]->email,
               accounts[i]->internal ? "internal" : "external",
               (long long)accounts[i]->primary_cert_id, accounts[i]->n_history);
    if (n < total)
        printf("(%zu of %zu; use --limit and --offset for more)\n", n, total);
out:
    mt_account_list_free(accounts, n);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------------ show */

static const char show_help[] =
    "Usage: mailtoken account show EMAIL\n"
    "\n"
    "Shows an account: primary, history, and its token (label, serial, PIN state).\n"
    "  --json   ACCOUNT with \"token\": {\"id\", \"label\", \"serial\", \"pinSet\",\n"
    "           \"failedLogins\", \"maxFailures\"} and \"certificates\": [CERTIFICATE...]\n";

static json_t *token_json(const mt_token *token)
{
    char label[33], serial[17];
    mt_token_label(token->email, label);
    mt_token_serial(token->org_id, token->id, serial);
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(token->id));
    json_object_set_new(obj, "label", json_string(label));
    json_object_set_new(obj, "serial", json_string(serial));
    json_object_set_new(obj, "pinSet", json_boolean(token->pin_set));
    json_object_set_new(obj, "failedLogins", json_integer(token->failed_logins));
    json_object_set_new(obj, "maxFailures", json_integer(token->max_failures));
    return obj;
}

static void print_account(const mt_account *account, const mt_token *token, mt_cert **certs)
{
    char label[33], serial[17];
    mt_token_label(token->email, label);
    mt_token_serial(token->org_id, token->id, serial);
    printf("email            %s\n", account->email);
    printf("kind             %s\n", account->internal ? "internal (signs and decrypts)"
                                                      : "external (encrypt to, verify)");
    printf("token            %s (serial %s)\n", label, serial);
    printf("user PIN         %s", token->pin_set ? "set" : "not set");
    if (token->failed_logins)
        printf(", %u failed logins of %u", token->failed_logins, token->max_failures);
    printf("\n");
    printf("certificates     %zu (oldest first)\n", account->n_history);
    for (size_t i = 0; i < account->n_history; i++) {
        char not_after[21];
        mt_cli_format_time(certs[i]->info->not_after, not_after);
        not_after[10] = '\0';
        printf("  %s #%-6lld %s  until %s  %s\n",
               certs[i]->id == account->primary_cert_id ? "*" : " ", (long long)certs[i]->id,
               certs[i]->has_private_key ? "p12" : "pem", not_after,
               certs[i]->info->subject ? certs[i]->info->subject : "");
    }
}

static int account_show(mt_cli *cli, int argc, char **argv)
{
    mt_store *store = NULL;
    mt_account *account = NULL;
    mt_token *token = NULL;
    mt_cert **certs = NULL;
    size_t n_certs = 0;
    int64_t org_id = 0;
    int code = MT_EXIT_OK;
    mt_status st;
    if (mt_account_operands(cli, "account show", show_help, argc, argv, 1, &code) != MT_OPT_END)
        goto out;
    const char *email = argv[optind];
    code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    st = mt_store_account_get(store, org_id, email, &account);
    if (st == MT_OK)
        st = mt_store_token_get(store, account->token_id, &token);
    if (st == MT_OK && !(certs = calloc(account->n_history + 1, sizeof(*certs))))
        st = MT_ERR_NOMEM;
    for (size_t i = 0; st == MT_OK && i < account->n_history; i++, n_certs++)
        st = mt_store_cert_get(store, account->history[i], &certs[i]);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    if (cli->json) {
        json_t *obj = mt_json_account(account);
        json_t *array = json_array();
        for (size_t i = 0; i < n_certs; i++)
            json_array_append_new(array, mt_json_cert(certs[i]));
        json_object_set_new(obj, "token", token_json(token));
        json_object_set_new(obj, "certificates", array);
        mt_cli_print_json(obj);
    } else {
        print_account(account, token, certs);
    }
out:
    mt_cert_list_free(certs, n_certs);
    mt_token_free(token);
    mt_account_free(account);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------- set-primary, add-to-history */

static const char set_primary_help[] =
    "Usage: mailtoken account set-primary EMAIL CERT\n"
    "\n"
    "Makes CERT (id or fingerprint, already in the account's history) the primary.\n"
    "  --json   the ACCOUNT\n";

static const char add_help[] =
    "Usage: mailtoken account add-to-history EMAIL CERT\n"
    "\n"
    "Adds CERT (id or fingerprint, naming EMAIL) to the account's history;\n"
    "adding one already there changes nothing.\n"
    "  --json   the ACCOUNT\n";

static int change_account(mt_cli *cli, int argc, char **argv, bool set_primary)
{
    const char *cmd = set_primary ? "account set-primary" : "account add-to-history";
    mt_store *store = NULL;
    int64_t org_id = 0, cert_id = 0;
    int code = MT_EXIT_OK;
    if (mt_account_operands(cli, cmd, set_primary ? set_primary_help : add_help, argc, argv, 2,
                            &code) != MT_OPT_END)
        goto out;
    const char *email = argv[optind];
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_cli_cert_id(store, org_id, argv[optind + 1], &cert_id);
    if (st == MT_OK)
        st = set_primary ? mt_store_account_set_primary(store, org_id, email, cert_id)
                         : mt_store_account_add_to_history(store, org_id, email, cert_id);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    code = mt_account_print_after(cli, store, org_id, email,
                                  set_primary ? "primary set" : "history updated");
out:
    mt_store_close(store);
    return code;
}

static int account_set_primary(mt_cli *cli, int argc, char **argv)
{
    return change_account(cli, argc, argv, true);
}

static int account_add_to_history(mt_cli *cli, int argc, char **argv)
{
    return change_account(cli, argc, argv, false);
}

/* ---------------------------------------------------------------- delete */

static const char delete_help[] =
    "Usage: mailtoken account delete EMAIL [--purge]\n"
    "\n"
    "Deletes the account.  Its certificates stay in the store unless --purge\n"
    "(which deletes those no other account uses).  The account's token number is\n"
    "kept, so PKCS#11 slot numbers never move.\n";

static int account_delete(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"purge", no_argument, NULL, OPT_PURGE},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    bool purge = false;
    mt_store *store = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "account delete", delete_help, argc, argv, options,
                                &code)) >= 0)
        purge = true;
    if (opt == MT_OPT_EXIT)
        goto out;
    if (argc - optind != 1) {
        code = mt_cli_usage_error(cli, "account delete", "give one EMAIL");
        goto out;
    }
    const char *email = argv[optind];
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_account_delete(store, org_id, email, purge);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "deleted", json_string(email));
        json_object_set_new(obj, "purged", json_boolean(purge));
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("account %s deleted%s\n", email, purge ? " with its certificates" : "");
    }
out:
    mt_store_close(store);
    return code;
}

static const char account_help[] = "Usage: mailtoken account SUBCOMMAND [OPTIONS]\n"
                                   "\n"
                                   "Email accounts: each is a PKCS#11 token.\n";

static const mt_subcommand account_subcommands[] = {
    {"create", "create an account with its primary (and history)", account_create},
    {"list", "list accounts", account_list},
    {"show", "show an account, its certificates and token", account_show},
    {"set-primary", "make a history certificate the primary", account_set_primary},
    {"add-to-history", "add a certificate to the history", account_add_to_history},
    {"set-pin", "change the user PIN (old PIN required)", mt_cmd_account_set_pin},
    {"reset-pin", "set or reset the user PIN with the SO PIN", mt_cmd_account_reset_pin},
    {"delete", "delete an account (certificates stay unless --purge)", account_delete},
};

int mt_cmd_account(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "account", account_help, account_subcommands,
                           sizeof(account_subcommands) / sizeof(account_subcommands[0]), argc,
                           argv);
}
