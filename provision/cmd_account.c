/* mailtoken account: create, list, show, set-primary, add-to-history,
 * remove-from-history, delete (PINs: cmd_account_pin.c). */
#include "account.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_PRIMARY = 1, OPT_HISTORY, OPT_LIMIT, OPT_OFFSET, OPT_PURGE, OPT_EXTERNAL, OPT_YES };

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

/* Whether the account's primary or history differ from before. */
static bool account_changed(const mt_account *before, const mt_account *after)
{
    return !before || before->primary_cert_id != after->primary_cert_id ||
           before->n_history != after->n_history ||
           memcmp(before->history, after->history, after->n_history * sizeof(*after->history)) != 0;
}

int mt_account_print_after(mt_cli *cli, mt_store *store, int64_t org_id, const char *email,
                           const mt_account *before, const char *done, const char *unchanged)
{
    mt_account *account = NULL;
    mt_status st = mt_store_account_get(store, org_id, email, &account);
    if (st != MT_OK)
        return mt_cli_fail(cli, st, email);
    if (cli->json)
        mt_cli_print_json(mt_json_account(account));
    else if (!cli->quiet)
        printf("account %s: %s (primary #%lld, %zu in history)\n", account->email,
               account_changed(before, account) ? done : unchanged,
               (long long)account->primary_cert_id, account->n_history);
    mt_account_free(account);
    return MT_EXIT_OK;
}

/* ---------------------------------------------------------------- create */

static const char create_help[] =
    "Usage: mailtoken account create EMAIL --primary CERT [--history CERT...] [--external]\n"
    "\n"
    "Creates an email account.  CERT is a certificate id or SHA-256 fingerprint.\n"
    "Every certificate must name EMAIL.\n"
    "\n"
    "  --primary CERT   the certificate that signs and decrypts: it must have a\n"
    "                   private key, unless --external\n"
    "  --history CERT   the account's certificate history (repeat it or separate\n"
    "                   with commas); the primary must be in it (default: the\n"
    "                   primary alone)\n"
    "  --external       the primary is public only: an external account, to encrypt\n"
    "                   to and verify, which never signs or decrypts\n"
    "  --json           the ACCOUNT\n";

/* An account that should sign needs a primary with a private key: creating
 * an external one (public only) is said explicitly. */
static mt_status check_primary_key(mt_store *store, int64_t org_id, const char *ref,
                                   bool external, int64_t *id)
{
    mt_cert *cert = NULL;
    mt_status st = mt_cli_find_cert(store, org_id, ref, &cert);
    if (st == MT_OK && !cert->has_private_key && !external)
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "primaryCertificateId: certificate %lld has no private key; the "
                              "primary of an internal account must have one for signing and "
                              "decryption (--external creates an external account, to encrypt "
                              "to and verify)",
                              (long long)cert->id);
    if (st == MT_OK)
        *id = cert->id;
    mt_cert_free(cert);
    return st;
}

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
        {"external", no_argument, NULL, OPT_EXTERNAL},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *primary = NULL;
    bool external = false;
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
        else if (opt == OPT_EXTERNAL)
            external = true;
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
    st = check_primary_key(store, org_id, primary, external, &primary_id);
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
    code = mt_account_print_after(cli, store, org_id, email, NULL, "created", NULL);
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

/* ------------------------------- set-primary, add-to, remove-from-history */

static const char set_primary_help[] =
    "Usage: mailtoken account set-primary EMAIL CERT [--external]\n"
    "\n"
    "Makes CERT (id or fingerprint, already in the account's history) the primary.\n"
    "The primary of an account that signs must have a private key.\n"
    "  --external   a public-only CERT is meant: the account becomes external (it\n"
    "               no longer signs or decrypts)\n"
    "  --json       the ACCOUNT\n";

static const char add_help[] =
    "Usage: mailtoken account add-to-history EMAIL CERT\n"
    "\n"
    "Adds CERT (id or fingerprint, naming EMAIL) to the account's history;\n"
    "adding one already there changes nothing.\n"
    "  --json   the ACCOUNT\n";

static const char remove_help[] =
    "Usage: mailtoken account remove-from-history EMAIL CERT\n"
    "\n"
    "Takes CERT (id or fingerprint) out of the account's history; the certificate\n"
    "stays in the store (`cert delete` deletes it).  Never the primary; one not in\n"
    "the history changes nothing.  Mail encrypted to it no longer opens through\n"
    "this account's token.\n"
    "  --json   the ACCOUNT\n";

typedef enum account_change { SET_PRIMARY, ADD_TO_HISTORY, REMOVE_FROM_HISTORY } account_change;

static const struct {
    const char *cmd, *help, *done, *unchanged;
} changes[] = {
    [SET_PRIMARY] = {"account set-primary", set_primary_help, "primary set",
                     "unchanged (already the primary)"},
    [ADD_TO_HISTORY] = {"account add-to-history", add_help, "history updated",
                        "unchanged (already in the history)"},
    [REMOVE_FROM_HISTORY] = {"account remove-from-history", remove_help, "history updated",
                             "unchanged (not in the history)"},
};

static mt_status apply(mt_store *store, int64_t org_id, const char *email, int64_t cert_id,
                       account_change change, bool external)
{
    switch (change) {
    case SET_PRIMARY:
        return mt_store_account_set_primary_ex(store, org_id, email, cert_id,
                                               external ? MT_PRIMARY_EXTERNAL : 0);
    case ADD_TO_HISTORY:
        return mt_store_account_add_to_history(store, org_id, email, cert_id);
    default:
        return mt_store_account_remove_from_history(store, org_id, email, cert_id);
    }
}

static int change_account(mt_cli *cli, int argc, char **argv, account_change change)
{
    static const struct option with_external[] = {
        {"external", no_argument, NULL, OPT_EXTERNAL}, MT_CLI_COMMON_OPTIONS, {0}};
    const struct option *options = change == SET_PRIMARY ? with_external : with_external + 1;
    const char *cmd = changes[change].cmd;
    mt_store *store = NULL;
    mt_account *before = NULL;
    int64_t org_id = 0, cert_id = 0;
    bool external = false;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, changes[change].help, argc, argv, options, &code)) >= 0)
        external = true;
    if (opt == MT_OPT_EXIT)
        goto out;
    if (argc - optind != 2) {
        code = mt_cli_usage_error(cli, cmd, "give EMAIL and CERT");
        goto out;
    }
    const char *email = argv[optind];
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_account_get(store, org_id, email, &before);
    if (st == MT_OK)
        st = mt_cli_cert_id(store, org_id, argv[optind + 1], &cert_id);
    if (st == MT_OK)
        st = apply(store, org_id, email, cert_id, change, external);
    if (st == MT_ERR_INVALID && change == SET_PRIMARY && !external && strstr(mt_errmsg(), "no private key"))
        st = mt_cli_set_error(st, "%s (--external makes the account external: it will no "
                                  "longer sign or decrypt)", mt_errmsg());
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    code = mt_account_print_after(cli, store, org_id, email, before, changes[change].done,
                                  changes[change].unchanged);
out:
    mt_account_free(before);
    mt_store_close(store);
    return code;
}

static int account_set_primary(mt_cli *cli, int argc, char **argv)
{
    return change_account(cli, argc, argv, SET_PRIMARY);
}

static int account_add_to_history(mt_cli *cli, int argc, char **argv)
{
    return change_account(cli, argc, argv, ADD_TO_HISTORY);
}

static int account_remove_from_history(mt_cli *cli, int argc, char **argv)
{
    return change_account(cli, argc, argv, REMOVE_FROM_HISTORY);
}

/* ---------------------------------------------------------------- delete */

static const char delete_help[] =
    "Usage: mailtoken account delete EMAIL [--purge [--yes]]\n"
    "\n"
    "Deletes the account.  Its certificates stay in the store unless --purge.\n"
    "The account's token number is kept, so PKCS#11 slot numbers never move.\n"
    "\n"
    "  --purge   also delete the account's certificates no other account uses,\n"
    "            with their private keys: mail encrypted to them will no longer\n"
    "            open.  What goes is listed and asked on a terminal first\n"
    "  --yes     go ahead without asking (needed without a terminal when private\n"
    "            keys would be destroyed)\n"
    "  --json    {\"deleted\", \"purged\", \"certificates\": [ids deleted]}\n";

/* Inside the caller's transaction: deletes the account with --purge and
 * returns the certificates that went. */
static mt_status purge_listing(mt_store *store, int64_t org_id, const mt_account *account,
                               mt_cert ***gone, size_t *n_gone)
{
    mt_cert **certs = calloc(account->n_history + 1, sizeof(*certs));
    size_t n = 0, kept = 0;
    mt_status st = certs ? MT_OK : MT_ERR_NOMEM;
    for (size_t i = 0; st == MT_OK && i < account->n_history; i++)
        if ((st = mt_store_cert_get(store, account->history[i], &certs[n])) == MT_OK)
            n++;
    if (st == MT_OK)
        st = mt_store_account_delete(store, org_id, account->email, true);
    for (size_t i = 0; i < n; i++) { /* keep those the purge deleted */
        mt_cert *still = NULL;
        mt_status found = st == MT_OK ? mt_store_cert_get(store, certs[i]->id, &still) : MT_OK;
        mt_cert_free(still);
        if (found == MT_ERR_NOT_FOUND) {
            certs[kept++] = certs[i];
            continue;
        }
        if (found != MT_OK)
            st = found;
        mt_cert_free(certs[i]);
    }
    if (st == MT_OK) {
        *gone = certs;
        *n_gone = kept;
    } else {
        mt_cert_list_free(certs, kept);
    }
    return st;
}

/* What a purge would delete: done in a transaction rolled back. */
static mt_status purge_plan(mt_store *store, int64_t org_id, const mt_account *account,
                            mt_cert ***gone, size_t *n_gone)
{
    mt_status st = mt_store_begin(store);
    if (st != MT_OK)
        return st;
    st = purge_listing(store, org_id, account, gone, n_gone);
    return mt_cli_end_tx(store, st, false); /* nothing deleted yet */
}

static size_t count_keys(mt_cert *const *certs, size_t n)
{
    size_t keys = 0;
    for (size_t i = 0; i < n; i++)
        keys += certs[i]->has_private_key;
    return keys;
}

/* The purge for real: the certificates planned (and consented to), or nothing. */
static mt_status purge_as_planned(mt_store *store, int64_t org_id, const mt_account *account,
                                  mt_cert *const *planned, size_t n_planned)
{
    mt_cert **gone = NULL;
    size_t n = 0;
    mt_status st = mt_store_begin(store);
    if (st != MT_OK)
        return st;
    st = purge_listing(store, org_id, account, &gone, &n);
    bool same = st == MT_OK && n == n_planned;
    for (size_t i = 0; same && i < n; i++)
        same = gone[i]->id == planned[i]->id;
    if (st == MT_OK && !same)
        st = mt_cli_set_error(MT_ERR_CONFLICT, "the store changed while you were asked: nothing "
                                               "deleted; run the command again");
    mt_cert_list_free(gone, n);
    return mt_cli_end_tx(store, st, true);
}

static int account_delete(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"purge", no_argument, NULL, OPT_PURGE},
        {"yes", no_argument, NULL, OPT_YES},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    bool purge = false, yes = false;
    mt_store *store = NULL;
    mt_account *account = NULL;
    mt_cert **gone = NULL;
    size_t n_gone = 0;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st;
    while ((opt = mt_cli_getopt(cli, "account delete", delete_help, argc, argv, options,
                                &code)) >= 0)
        *(opt == OPT_PURGE ? &purge : &yes) = true;
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
    st = mt_store_account_get(store, org_id, email, &account);
    if (st == MT_OK && purge)
        st = purge_plan(store, org_id, account, &gone, &n_gone);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    size_t keys = count_keys(gone, n_gone);
    if (keys) {
        char described[4000];
        mt_cli_describe_certs(gone, n_gone, described, sizeof(described));
        if ((code = mt_cli_consent(cli, "account delete", yes, keys, described)) != MT_EXIT_OK)
            goto out;
    }
    st = purge ? purge_as_planned(store, org_id, account, gone, n_gone)
               : mt_store_account_delete(store, org_id, email, false);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    if (cli->json) {
        json_t *ids = json_array();
        for (size_t i = 0; i < n_gone; i++)
            json_array_append_new(ids, json_integer(gone[i]->id));
        json_t *obj = json_object();
        json_object_set_new(obj, "deleted", json_string(account->email));
        json_object_set_new(obj, "purged", json_boolean(purge));
        json_object_set_new(obj, "certificates", ids);
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("account %s deleted", account->email);
        if (purge)
            printf(" with %zu certificate%s (%zu private key%s)", n_gone, n_gone == 1 ? "" : "s",
                   keys, keys == 1 ? "" : "s");
        printf("\n");
    }
out:
    mt_cert_list_free(gone, n_gone);
    mt_account_free(account);
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
    {"remove-from-history", "take a certificate out of the history", account_remove_from_history},
    {"set-pin", "change the user PIN (old PIN required)", mt_cmd_account_set_pin},
    {"reset-pin", "set or reset the user PIN with the SO PIN", mt_cmd_account_reset_pin},
    {"rekey", "a new token key pair, every key sealed to it again (SO PIN)", mt_cmd_account_rekey},
    {"delete", "delete an account (certificates stay unless --purge)", account_delete},
};

int mt_cmd_account(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "account", account_help, account_subcommands,
                           sizeof(account_subcommands) / sizeof(account_subcommands[0]), argc,
                           argv);
}
