/* mailtoken cert: list, show, update, export, delete (import: cmd_cert_import.c). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int mt_cmd_cert_import(mt_cli *cli, int argc, char **argv);

static const char list_help[] =
    "Usage: mailtoken cert list [--email E] [--expiring DAYS] [--kind p12|pem]\n"
    "                           [--limit N] [--offset N]\n"
    "\n"
    "Lists the organisation's certificates, oldest first.\n"
    "\n"
    "  --email E        certificates naming E\n"
    "  --expiring DAYS  certificates whose validity ends within DAYS days (expired included)\n"
    "  --kind KIND      p12 (came with a private key) or pem (public only)\n"
    "  --limit N        at most N certificates (default: all)\n"
    "  --offset N       skip the first N\n"
    "  --json           {\"total\", \"limit\", \"offset\", \"certificates\": [CERTIFICATE...]}\n";

enum { OPT_EMAIL = 1, OPT_EXPIRING, OPT_KIND, OPT_LIMIT, OPT_OFFSET, OPT_NAME, OPT_DESCRIPTION,
       OPT_OUT, OPT_NO_CHAIN, OPT_YES };

static void print_cert_row(const mt_cert *cert)
{
    char not_after[21];
    mt_cli_format_time(cert->info->not_after, not_after);
    not_after[10] = '\0';
    char key[24];
    snprintf(key, sizeof(key), "%s%s%u", mt_key_type_name(cert->info->key_type),
             cert->info->key_bits ? "-" : "", cert->info->key_bits);
    printf("%-6lld %-4s %-4s %-32s %-10s %-10s %s\n", (long long)cert->id,
           cert->kind == MT_CERT_P12 ? "p12" : "pem", cert->has_private_key ? "yes" : "no",
           mt_cli_first_email(cert), not_after, key,
           cert->friendly_name ? cert->friendly_name : "");
}

static int cert_list(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"email", required_argument, NULL, OPT_EMAIL},
        {"expiring", required_argument, NULL, OPT_EXPIRING},
        {"kind", required_argument, NULL, OPT_KIND},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"offset", required_argument, NULL, OPT_OFFSET},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_cert_query query = {.kind = -1};
    mt_store *store = NULL;
    mt_cert **certs = NULL;
    size_t n = 0, total = 0;
    long long value = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "cert list", list_help, argc, argv, options, &code)) >= 0) {
        switch (opt) {
        case OPT_EMAIL:
            query.email = optarg;
            break;
        case OPT_EXPIRING:
            if (!mt_cli_parse_int(cli, "cert list", "--expiring", optarg, 0, 36500, &value,
                                  &code))
                goto out;
            query.expiring_before = (int64_t)time(NULL) + value * 86400;
            break;
        case OPT_KIND:
            if (strcmp(optarg, "p12") != 0 && strcmp(optarg, "pem") != 0) {
                code = mt_cli_usage_error(cli, "cert list", "--kind: '%s': use p12 or pem",
                                          optarg);
                goto out;
            }
            query.kind = strcmp(optarg, "p12") == 0 ? MT_CERT_P12 : MT_CERT_PEM;
            break;
        case OPT_LIMIT:
        case OPT_OFFSET:
            if (!mt_cli_parse_int(cli, "cert list", opt == OPT_LIMIT ? "--limit" : "--offset",
                                  optarg, 0, 1000000000, &value, &code))
                goto out;
            *(opt == OPT_LIMIT ? &query.limit : &query.offset) = (size_t)value;
            break;
        }
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc) {
        code = mt_cli_usage_error(cli, "cert list", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &query.org_id);
    if (code != MT_EXIT_OK)
        goto out;
    mt_status st = mt_store_cert_list(store, &query, &certs, &n, &total);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "cert list");
        goto out;
    }
    if (cli->json) {
        json_t *array = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(array, mt_json_cert(certs[i]));
        json_t *doc = json_object();
        json_object_set_new(doc, "total", json_integer((json_int_t)total));
        json_object_set_new(doc, "limit", json_integer((json_int_t)query.limit));
        json_object_set_new(doc, "offset", json_integer((json_int_t)query.offset));
        json_object_set_new(doc, "certificates", array);
        mt_cli_print_json(doc);
        goto out;
    }
    printf("%-6s %-4s %-4s %-32s %-10s %-10s %s\n", "ID", "KIND", "KEY", "EMAIL", "NOT-AFTER",
           "ALGORITHM", "NAME");
    for (size_t i = 0; i < n; i++)
        print_cert_row(certs[i]);
    if (n < total)
        printf("(%zu of %zu; use --limit and --offset for more)\n", n, total);
out:
    mt_cert_list_free(certs, n);
    mt_store_close(store);
    return code;
}

/* ------------------------------------------------------------------ show */

static const char show_help[] =
    "Usage: mailtoken cert show ID|FINGERPRINT\n"
    "\n"
    "Shows one certificate: fields, emails, key, chain.  FINGERPRINT is the\n"
    "SHA-256 of the certificate in hex (colons allowed).\n"
    "  --json   CERTIFICATE with \"chain\": [{\"subject\", \"issuer\", \"fingerprint\", \"notAfter\"}]\n";

static json_t *chain_json(const mt_cert *cert)
{
    json_t *array = json_array();
    for (size_t i = 0; i < cert->n_chain; i++) {
        mt_cert_info *info = NULL;
        if (mt_cert_info_from_der(cert->chain[i].data, cert->chain[i].len, &info) != MT_OK)
            continue;
        char fingerprint[65];
        mt_fingerprint_hex(info->sha256, fingerprint);
        json_t *c = json_object();
        json_object_set_new(c, "subject", json_string(info->subject));
        json_object_set_new(c, "issuer", json_string(info->issuer));
        json_object_set_new(c, "fingerprint", json_string(fingerprint));
        json_object_set_new(c, "notAfter", mt_json_time(info->not_after));
        json_array_append_new(array, c);
        mt_cert_info_free(info);
    }
    return array;
}

/* Prints "key: value" lines for every scalar of the certificate object. */
static void print_fields(json_t *obj)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        if (json_is_string(value)) {
            printf("%-16s %s\n", key, json_string_value(value));
        } else if (json_is_integer(value)) {
            printf("%-16s %lld\n", key, (long long)json_integer_value(value));
        } else if (json_is_boolean(value)) {
            printf("%-16s %s\n", key, json_is_true(value) ? "yes" : "no");
        } else if (json_is_array(value)) {
            size_t i;
            json_t *item;
            json_array_foreach(value, i, item)
            {
                json_t *subject = json_object_get(item, "subject");
                printf("%-16s %s\n", i == 0 ? key : "",
                       json_is_string(item)      ? json_string_value(item)
                       : json_is_string(subject) ? json_string_value(subject)
                                                 : "");
            }
        }
    }
}

/* The single ID|FINGERPRINT operand of show/update/export/delete: checks it,
 * opens the store and finds the certificate.  Returns MT_EXIT_OK or the
 * exit code after reporting. */
static int one_cert(mt_cli *cli, const char *cmd, int argc, char **argv, unsigned flags,
                    mt_store **store, mt_cert **cert)
{
    int64_t org_id = 0;
    if (argc - optind != 1)
        return mt_cli_usage_error(cli, cmd, "give one certificate id or fingerprint");
    int code = mt_cli_session(cli, flags, store, &org_id);
    if (code != MT_EXIT_OK)
        return code;
    mt_status st = mt_cli_find_cert(*store, org_id, argv[optind], cert);
    return st == MT_OK ? MT_EXIT_OK : mt_cli_fail(cli, st, NULL);
}

static int cert_show(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {MT_CLI_COMMON_OPTIONS, {0}};
    mt_store *store = NULL;
    mt_cert *cert = NULL;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "cert show", show_help, argc, argv, options, &code)) >= 0)
        ;
    if (opt == MT_OPT_EXIT)
        goto out;
    code = one_cert(cli, "cert show", argc, argv, MT_OPEN_READONLY, &store, &cert);
    if (code != MT_EXIT_OK)
        goto out;
    json_t *obj = mt_json_cert(cert);
    json_object_set_new(obj, "chain", chain_json(cert));
    if (cli->json) {
        mt_cli_print_json(obj);
    } else {
        print_fields(obj);
        json_decref(obj);
    }
out:
    mt_cert_free(cert);
    mt_store_close(store);
    return code;
}

/* ---------------------------------------------------------------- update */

static const char update_help[] =
    "Usage: mailtoken cert update ID|FINGERPRINT [--friendly-name NAME] [--description TEXT]\n"
    "\n"
    "Changes a certificate's friendly name or description (\"\" clears it).\n"
    "  --json   the updated CERTIFICATE\n";

static int cert_update(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"friendly-name", required_argument, NULL, OPT_NAME},
        {"description", required_argument, NULL, OPT_DESCRIPTION},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *name = NULL, *description = NULL;
    mt_store *store = NULL;
    mt_cert *cert = NULL;
    int64_t id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st;
    while ((opt = mt_cli_getopt(cli, "cert update", update_help, argc, argv, options, &code)) >=
           0) {
        if (!mt_cli_name_ok(cli, opt == OPT_NAME ? "--friendly-name" : "--description", optarg,
                            &code))
            goto out;
        if (opt == OPT_NAME)
            name = optarg;
        else
            description = optarg;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (!name && !description) {
        code = mt_cli_usage_error(cli, "cert update",
                                  "give --friendly-name or --description (or both)");
        goto out;
    }
    code = one_cert(cli, "cert update", argc, argv, 0, &store, &cert);
    if (code != MT_EXIT_OK)
        goto out;
    id = cert->id;
    mt_cert_free(cert);
    cert = NULL;
    st = mt_store_cert_update(store, id, name, description);
    if (st == MT_OK)
        st = mt_store_cert_get(store, id, &cert);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, NULL);
        goto out;
    }
    if (cli->json)
        mt_cli_print_json(mt_json_cert(cert));
    else if (!cli->quiet)
        printf("certificate %lld updated\n", (long long)id);
out:
    mt_cert_free(cert);
    mt_store_close(store);
    return code;
}

/* ---------------------------------------------------------------- export */

static const char export_help[] =
    "Usage: mailtoken cert export ID|FINGERPRINT [--out FILE] [--no-chain]\n"
    "\n"
    "Writes the certificate and its chain as PEM (never a private key) to\n"
    "standard output or FILE.\n"
    "  --out FILE   write to FILE instead\n"
    "  --no-chain   the certificate only\n"
    "  --json       {\"id\", \"certificates\": N, \"pem\": TEXT} (with --out: \"file\"\n"
    "               instead of \"pem\")\n";

static void write_pem(FILE *out, const uint8_t *der, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputs("-----BEGIN CERTIFICATE-----\n", out);
    size_t column = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        char quad[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                        i + 1 < len ? b64[(v >> 6) & 63] : '=', i + 2 < len ? b64[v & 63] : '='};
        fwrite(quad, 1, 4, out);
        column += 4;
        if (column == 64) {
            fputc('\n', out);
            column = 0;
        }
    }
    if (column)
        fputc('\n', out);
    fputs("-----END CERTIFICATE-----\n", out);
}

static int cert_export(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"no-chain", no_argument, NULL, OPT_NO_CHAIN},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *out_path = NULL;
    bool chain = true;
    mt_store *store = NULL;
    mt_cert *cert = NULL;
    FILE *out = stdout;
    char *pem = NULL;
    size_t pem_len = 0;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "cert export", export_help, argc, argv, options, &code)) >=
           0) {
        if (opt == OPT_OUT)
            out_path = optarg;
        else
            chain = false;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    code = one_cert(cli, "cert export", argc, argv, MT_OPEN_READONLY, &store, &cert);
    if (code != MT_EXIT_OK)
        goto out;
    /* --json without --out: the PEM goes into the one JSON document */
    if (out_path)
        out = fopen(out_path, "w");
    else if (cli->json)
        out = open_memstream(&pem, &pem_len);
    if (!out) {
        code = mt_cli_fail(cli, mt_cli_set_error(MT_ERR_IO, "%m"), out_path ? out_path : "export");
        goto out;
    }
    size_t n_certs = 1 + (chain ? cert->n_chain : 0);
    write_pem(out, cert->info->der, cert->info->der_len);
    for (size_t i = 0; chain && i < cert->n_chain; i++)
        write_pem(out, cert->chain[i].data, cert->chain[i].len);
    if (out != stdout && fclose(out) != 0) {
        code = mt_cli_fail(cli, mt_cli_set_error(MT_ERR_IO, "%m"), out_path ? out_path : "export");
        goto out;
    }
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "id", json_integer(cert->id));
        json_object_set_new(obj, "certificates", json_integer((json_int_t)n_certs));
        json_object_set_new(obj, out_path ? "file" : "pem", json_string(out_path ? out_path : pem));
        mt_cli_print_json(obj);
    }
out:
    free(pem);
    mt_cert_free(cert);
    mt_store_close(store);
    return code;
}

/* ---------------------------------------------------------------- delete */

static const char delete_help[] =
    "Usage: mailtoken cert delete ID|FINGERPRINT [--yes]\n"
    "\n"
    "Deletes a certificate that no account uses (exit 4 when one does: take it\n"
    "out with `account remove-from-history` first).  A certificate with a\n"
    "private key takes the key with it, and mail encrypted to it will no longer\n"
    "open: that is said and asked on a terminal first.\n"
    "  --yes    go ahead without asking (needed without a terminal for a\n"
    "           certificate with a private key)\n"
    "  --json   {\"deleted\": id}\n";

static int cert_delete(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"yes", no_argument, NULL, OPT_YES}, MT_CLI_COMMON_OPTIONS, {0}};
    mt_store *store = NULL;
    mt_cert *cert = NULL;
    int64_t id = 0;
    bool yes = false;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "cert delete", delete_help, argc, argv, options, &code)) >=
           0)
        yes = true;
    if (opt == MT_OPT_EXIT)
        goto out;
    code = one_cert(cli, "cert delete", argc, argv, 0, &store, &cert);
    if (code != MT_EXIT_OK)
        goto out;
    id = cert->id;
    /* In use: refused below whatever the answer, so nothing to ask. */
    mt_status st = mt_store_begin(store);
    if (st == MT_OK)
        st = mt_cli_end_tx(store, mt_store_cert_delete(store, id), false);
    if (st == MT_OK && cert->has_private_key) {
        char described[512];
        mt_cli_describe_certs(&cert, 1, described, sizeof(described));
        if ((code = mt_cli_consent(cli, "cert delete", yes, 1, described)) != MT_EXIT_OK)
            goto out;
    }
    if (st == MT_OK)
        st = mt_store_cert_delete(store, id);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, NULL);
        goto out;
    }
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "deleted", json_integer(id));
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("certificate %lld deleted\n", (long long)id);
    }
out:
    mt_cert_free(cert);
    mt_store_close(store);
    return code;
}

static const char cert_help[] = "Usage: mailtoken cert SUBCOMMAND [OPTIONS]\n"
                                "\n"
                                "Certificates of the organisation.\n";

static const mt_subcommand cert_subcommands[] = {
    {"import", "import P12/PFX, PEM or DER files, or a folder", mt_cmd_cert_import},
    {"list", "list certificates (filters: email, expiring, kind)", cert_list},
    {"show", "show one certificate", cert_show},
    {"update", "change friendly name or description", cert_update},
    {"export", "write certificate and chain as PEM", cert_export},
    {"delete", "delete a certificate no account uses", cert_delete},
};

int mt_cmd_cert(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "cert", cert_help, cert_subcommands,
                           sizeof(cert_subcommands) / sizeof(cert_subcommands[0]), argc, argv);
}
