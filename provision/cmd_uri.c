/* mailtoken uri: the RFC 7512 URI of an account's token (and its primary's
 * objects), as the PKCS#11 module presents them. */
#include "cli.h"
#include "uri.h"

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <stdlib.h>
#include <string.h>

static const char uri_help[] =
    "Usage: mailtoken uri EMAIL [--type cert|private|public]\n"
    "\n"
    "Prints the PKCS#11 URI (RFC 7512) that selects the account's token by model,\n"
    "manufacturer, serial and label (never by slot number).  With --type, the URI\n"
    "of the primary certificate's object of that class (id= and object= added).\n"
    "\n"
    "  --type T   cert, private or public: the primary's object of that class\n"
    "  --json     {\"email\", \"uri\", \"token\": {\"label\", \"serial\", \"manufacturer\",\n"
    "             \"model\"}}\n"
    "\n"
    "A URI finds the token only through a module the program loads: `p11tool URI`\n"
    "without --provider needs the module registered with p11-kit (a .module file,\n"
    "see docs/pkcs11.md), and GnuTLS programs see no token at all of a module with\n"
    "more than 48 accounts unless a filter ($MAILTOKEN_ACCOUNTS) narrows them.\n";

enum { OPT_TYPE = 1 };

static void set_padded(unsigned char *field, size_t size, const char *value)
{
    size_t n = strlen(value);
    memset(field, ' ', size);
    memcpy(field, value, n < size ? n : size);
}

static mt_status class_of(const char *type, CK_OBJECT_CLASS *out)
{
    if (strcmp(type, "cert") == 0)
        *out = CKO_CERTIFICATE;
    else if (strcmp(type, "private") == 0)
        *out = CKO_PRIVATE_KEY;
    else if (strcmp(type, "public") == 0)
        *out = CKO_PUBLIC_KEY;
    else
        return MT_ERR_INVALID;
    return MT_OK;
}

/* id= and object= of the primary certificate's objects. */
static mt_status add_object(mt_store *store, const mt_account *account, CK_OBJECT_CLASS klass,
                            P11KitUri *uri)
{
    mt_cert *primary = NULL;
    mt_status st = mt_store_cert_get(store, account->primary_cert_id, &primary);
    if (st != MT_OK)
        goto out;
    if (klass != CKO_CERTIFICATE && !primary->has_private_key) {
        st = mt_cli_set_error(MT_ERR_NOT_FOUND,
                              "the primary certificate #%lld has no private key, so the token "
                              "has no key objects",
                              (long long)primary->id);
        goto out;
    }
    CK_ATTRIBUTE attrs[] = {
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_ID, primary->info->key_id, MT_KEY_ID_LEN},
        {CKA_LABEL, account->email, strlen(account->email)},
    };
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        if (p11_kit_uri_set_attribute(uri, &attrs[i]) != P11_KIT_URI_OK) {
            st = mt_cli_set_error(MT_ERR_INTERNAL, "cannot build the URI");
            goto out;
        }
    }
out:
    mt_cert_free(primary);
    return st;
}

mt_status mt_uri_build(mt_store *store, const mt_account *account, const char *type,
                       char label[33], char serial[17], char **out)
{
    CK_OBJECT_CLASS klass = 0;
    mt_status st = MT_OK;
    P11KitUri *uri = p11_kit_uri_new();
    if (!uri)
        return MT_ERR_NOMEM;
    mt_token_label(account->email, label);
    mt_token_serial(account->org_id, account->token_id, serial);
    CK_TOKEN_INFO *info = p11_kit_uri_get_token_info(uri);
    set_padded(info->label, sizeof(info->label), label);
    set_padded(info->manufacturerID, sizeof(info->manufacturerID), MT_TOKEN_MANUFACTURER);
    set_padded(info->model, sizeof(info->model), MT_TOKEN_MODEL);
    set_padded(info->serialNumber, sizeof(info->serialNumber), serial);
    if (type) {
        class_of(type, &klass);
        st = add_object(store, account, klass, uri);
    }
    if (st == MT_OK && p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, out) != P11_KIT_URI_OK)
        st = mt_cli_set_error(MT_ERR_INTERNAL, "cannot format the URI");
    p11_kit_uri_free(uri);
    return st;
}

json_t *mt_uri_json(const mt_account *account, const char *uri, const char *label,
                    const char *serial)
{
    json_t *token = json_object();
    json_object_set_new(token, "label", json_string(label));
    json_object_set_new(token, "serial", json_string(serial));
    json_object_set_new(token, "manufacturer", json_string(MT_TOKEN_MANUFACTURER));
    json_object_set_new(token, "model", json_string(MT_TOKEN_MODEL));
    json_t *obj = json_object();
    json_object_set_new(obj, "email", json_string(account->email));
    json_object_set_new(obj, "uri", json_string(uri));
    json_object_set_new(obj, "token", token);
    return obj;
}

bool mt_uri_type_valid(const char *type)
{
    CK_OBJECT_CLASS klass;
    return class_of(type, &klass) == MT_OK;
}

int mt_cmd_uri(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"type", required_argument, NULL, OPT_TYPE},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *type = NULL;
    mt_store *store = NULL;
    mt_account *account = NULL;
    char *text = NULL, label[33], serial[17];
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "uri", uri_help, argc, argv, options, &code)) >= 0)
        type = optarg;
    if (opt == MT_OPT_EXIT)
        goto out;
    if (type && !mt_uri_type_valid(type)) {
        code = mt_cli_usage_error(cli, "uri", "--type: '%s': use cert, private or public", type);
        goto out;
    }
    if (argc - optind != 1) {
        code = mt_cli_usage_error(cli, "uri", "give one EMAIL");
        goto out;
    }
    code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_account_get(store, org_id, argv[optind], &account);
    if (st == MT_OK)
        st = mt_uri_build(store, account, type, label, serial, &text);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, argv[optind]);
        goto out;
    }
    if (cli->json) {
        mt_cli_print_json(mt_uri_json(account, text, label, serial));
    } else {
        printf("%s\n", text);
    }
out:
    free(text);
    mt_account_free(account);
    mt_store_close(store);
    return code;
}
