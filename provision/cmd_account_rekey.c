/* mailtoken account rekey: a new token key pair after a suspected compromise. */
#include "account.h"

static const char rekey_help[] =
    "Usage: mailtoken account rekey EMAIL [--so-pin-file F | --so-pin-env VAR | --so-pin-fd N]\n"
    "\n"
    "For a suspected compromise of the account's token key (a copied store and a\n"
    "guessed PIN, a stolen token secret): gives the token a new key pair, opens\n"
    "every key sealed to it (and renewal candidates) through the recovery key and\n"
    "seals them to the new one, in one transaction.  The token keeps its slot.\n"
    "The user PIN is removed (it wrapped the old secret): set a new one with\n"
    "`mailtoken account reset-pin`.  Needs the SO PIN.\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N    the SO PIN\n"
    "  --json   {\"email\", \"tokenId\", \"keys\", \"pinSet\": false}\n"
    "Environment: MAILTOKEN_SO_PIN when set.\n";

int mt_cmd_account_rekey(mt_cli *cli, int argc, char **argv)
{
    mt_store *store = NULL;
    mt_secret *so_pin = NULL;
    mt_account *account = NULL;
    int64_t org_id = 0;
    size_t n_keys = 0;
    int code = mt_cli_so_pin_command(cli, "account rekey", rekey_help, argc, argv, 1, 0, &store,
                                     &org_id, &so_pin);
    if (code != MT_EXIT_OK)
        return code;
    const char *email = argv[optind];
    mt_status st = mt_store_account_get(store, org_id, email, &account);
    if (st == MT_OK)
        st = mt_store_token_rekey(store, account->token_id, so_pin, &n_keys);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, st == MT_ERR_PIN_INCORRECT || st == MT_ERR_PIN_LOCKED ? "SO PIN" : email);
        goto out;
    }
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "email", json_string(account->email));
        json_object_set_new(obj, "tokenId", json_integer(account->token_id));
        json_object_set_new(obj, "keys", json_integer((json_int_t)n_keys));
        json_object_set_new(obj, "pinSet", json_false());
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("account %s: new token key, %zu keys sealed to it again; the user PIN is gone: "
               "mailtoken account reset-pin %s\n", account->email, n_keys, account->email);
    }
out:
    mt_account_free(account);
    mt_secret_free(so_pin);
    mt_store_close(store);
    return code;
}
