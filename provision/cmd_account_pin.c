/* mailtoken account set-pin / reset-pin: PINs from a terminal, file,
 * variable or descriptor, never from the command line. */
#include "account.h"

enum { OPT_PIN = 100, OPT_NEW_PIN = 110, OPT_SO_PIN = 120 };

static const char set_pin_help[] =
    "Usage: mailtoken account set-pin EMAIL [PIN OPTIONS]\n"
    "\n"
    "Changes the user PIN of the account's token; the current PIN is required\n"
    "(a first PIN is set with `account reset-pin`).  The new PIN is asked twice\n"
    "on a terminal (once the current PIN is found right) and must follow the PIN\n"
    "policy.\n"
    "\n"
    "  --pin-file F | --pin-env VAR | --pin-fd N               current PIN\n"
    "  --new-pin-file F | --new-pin-env VAR | --new-pin-fd N   new PIN\n"
    "Environment: MAILTOKEN_PIN, MAILTOKEN_NEW_PIN when set.\n";

static const char reset_pin_help[] =
    "Usage: mailtoken account reset-pin EMAIL [PIN OPTIONS]\n"
    "\n"
    "Sets or resets the user PIN of the account's token with the SO PIN (and\n"
    "clears the failed-login counter).  On a terminal the SO PIN is asked and\n"
    "checked first, then the account's new PIN twice.\n"
    "\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N      SO PIN\n"
    "  --new-pin-file F | --new-pin-env VAR | --new-pin-fd N   new user PIN\n"
    "Environment: MAILTOKEN_SO_PIN, MAILTOKEN_NEW_PIN when set.\n";

/* The SO PIN or the current user PIN, checked on its own (a wrong one counts
 * as a failed login, as it would when the PIN is changed). */
static mt_status check_auth(mt_store *store, int64_t org_id, const mt_account *account,
                            bool with_so_pin, const mt_secret *auth)
{
    if (with_so_pin)
        return mt_store_so_check(store, org_id, auth);
    mt_secret *token_secret = NULL;
    mt_status st = mt_store_token_login(store, account->token_id, auth, &token_secret);
    mt_secret_free(token_secret);
    return st;
}

static mt_status policy_check(void *config, const mt_secret *pin)
{
    return mt_pin_policy_check(config, pin);
}

/* Both PIN commands: authorize with `auth` (old user PIN or SO PIN), set `new_src`. */
static int change_pin(mt_cli *cli, int argc, char **argv, bool with_so_pin)
{
    static const struct option options[] = {
        MT_SECRET_OPTIONS("pin", OPT_PIN),
        MT_SECRET_OPTIONS("new-pin", OPT_NEW_PIN),
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *cmd = with_so_pin ? "account reset-pin" : "account set-pin";
    mt_secret_source user_src = MT_SECRET_SOURCE_INIT("current PIN", "pin", "MAILTOKEN_PIN");
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    mt_secret_source new_src = MT_SECRET_SOURCE_INIT("new PIN", "new-pin", "MAILTOKEN_NEW_PIN");
    mt_secret_source *auth_src = with_so_pin ? &so_src : &user_src;
    mt_secret *auth = NULL, *new_pin = NULL;
    mt_store *store = NULL;
    mt_account *account = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st;
    while ((opt = mt_cli_getopt(cli, cmd, with_so_pin ? reset_pin_help : set_pin_help, argc,
                                argv, options, &code)) >= 0) {
        if (opt >= OPT_SO_PIN && !with_so_pin) {
            code = mt_cli_usage_error(cli, cmd, "the SO PIN is for `account reset-pin`");
            goto out;
        }
        if (opt < OPT_NEW_PIN && with_so_pin) {
            code = mt_cli_usage_error(cli, cmd, "reset-pin takes the SO PIN, not the user PIN");
            goto out;
        }
        if (!mt_cli_secret_opt(&user_src, opt, OPT_PIN, optarg) &&
            !mt_cli_secret_opt(&new_src, opt, OPT_NEW_PIN, optarg))
            mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg);
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (argc - optind != 1) {
        code = mt_cli_usage_error(cli, cmd, "give one EMAIL");
        goto out;
    }
    if (!mt_cli_secret_source_ok(cli, cmd, &user_src, &code) ||
        !mt_cli_secret_source_ok(cli, cmd, &new_src, &code) ||
        !mt_cli_secret_source_ok(cli, cmd, &so_src, &code))
        goto out;
    const char *email = argv[optind];
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    /* The account first, so that a typo costs no PIN prompt. */
    st = mt_store_account_get(store, org_id, email, &account);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    st = mt_cli_read_secret_from(cli, auth_src, false, &auth);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, auth_src->what);
        goto out;
    }
    /* Typing a new PIN twice is for nothing if the first one is wrong. */
    if (!mt_cli_secret_given(&new_src) && (st = check_auth(store, org_id, account, with_so_pin,
                                                           auth)) != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    char what[320];
    snprintf(what, sizeof(what), "new PIN for %s", account->email); /* whose PIN, on the prompt */
    new_src.what = what;
    st = mt_cli_read_new_secret(cli, &new_src, true, policy_check, (void *)cli->config, &new_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "new PIN");
        goto out;
    }
    st = with_so_pin ? mt_store_token_init_pin(store, account->token_id, auth, new_pin)
                     : mt_store_token_set_pin(store, account->token_id, auth, new_pin);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "email", json_string(account->email));
        json_object_set_new(obj, "tokenId", json_integer(account->token_id));
        json_object_set_new(obj, "pinSet", json_true());
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("account %s: user PIN %s\n", account->email, with_so_pin ? "set" : "changed");
    }
out:
    mt_secret_free(auth);
    mt_secret_free(new_pin);
    mt_account_free(account);
    mt_store_close(store);
    return code;
}

int mt_cmd_account_set_pin(mt_cli *cli, int argc, char **argv)
{
    return change_pin(cli, argc, argv, false);
}

int mt_cmd_account_reset_pin(mt_cli *cli, int argc, char **argv)
{
    return change_pin(cli, argc, argv, true);
}
