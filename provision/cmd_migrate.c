/* mailtoken migrate: certificates and keys out of a PKCS#11 token (SoftHSM or
 * any other) into the store, as accounts with history. */
#include "migrate/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char migrate_help[] =
    "Usage: mailtoken migrate --from-module PATH --token LABEL [--pin-file F]\n"
    "                         [--map CSV] [--dry-run]\n"
    "\n"
    "Reads every X.509 certificate of the token labelled LABEL in the PKCS#11 module\n"
    "PATH and, where the token allows it, the private key with the same CKA_ID\n"
    "(CKA_EXTRACTABLE keys are wrapped under a session AES key with\n"
    "CKM_AES_KEY_WRAP_PAD and unwrapped in memory), and imports them as accounts:\n"
    "the history holds every certificate of the email, the newest valid one is the\n"
    "primary.  The email is the first one the certificate names, or the one --map\n"
    "gives.  Keys the token keeps are reported by label and CKA_ID; their\n"
    "certificates still import.  Running it again adds nothing twice.\n"
    "\n"
    "  --pin-file F, --pin-env VAR, --pin-fd N   the source token's user PIN\n"
    "                (default: $MAILTOKEN_SOURCE_PIN, else a prompt)\n"
    "  --map CSV     lines OBJECT,EMAIL; OBJECT is a CKA_LABEL, id:HEX (CKA_ID) or\n"
    "                sha256:FINGERPRINT of a certificate\n"
    "  --dry-run     print the plan; write nothing and take no key out\n"
    "  --json        {\"dry_run\", \"source\", \"accounts\": [...], \"skipped\": [...],\n"
    "                 \"summary\"}\n"
    "Exit status 7 when a key stayed in the token or an item could not be imported.\n";

enum { OPT_MODULE = 1, OPT_TOKEN, OPT_MAP, OPT_DRY_RUN, OPT_PIN };

typedef struct migrate_args {
    const char *module;
    const char *token;
    const char *map;
    bool dry_run;
    mt_secret_source pin;
} migrate_args;

typedef struct migrate_counts {
    size_t accounts, accounts_new, certs, certs_new, keys_out, keys_kept, failed;
} migrate_counts;

static const char *key_state_name(mt_mig_key_state state)
{
    switch (state) {
    case MT_MIG_KEY_EXTRACTABLE: return "extractable";
    case MT_MIG_KEY_EXTRACTED: return "extracted";
    case MT_MIG_KEY_NOT_EXTRACTABLE: return "not-extractable";
    default: return "none";
    }
}

static void short_fp(const mt_cert_info *cert, char out[17])
{
    char fp[65];
    mt_fingerprint_hex(cert->sha256, fp);
    memcpy(out, fp, 16);
    out[16] = '\0';
}

static void count(const mt_mig_source *src, const mt_mig_plan *plan, migrate_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t a = 0; a < plan->n_accounts; a++) {
        const mt_mig_account *acc = &plan->accounts[a];
        c->accounts++;
        c->accounts_new += !acc->exists && !acc->error;
        c->failed += acc->error != NULL;
        for (size_t k = 0; k < acc->n_items; k++) {
            const mt_mig_item *item = &src->items[acc->items[k]];
            c->certs++;
            c->certs_new += item->cert_created;
            c->keys_out += item->key_state == MT_MIG_KEY_EXTRACTED ||
                           item->key_state == MT_MIG_KEY_EXTRACTABLE;
            c->keys_kept += item->key_state == MT_MIG_KEY_NOT_EXTRACTABLE;
        }
    }
    for (size_t i = 0; i < src->n_items; i++)
        c->failed += src->items[i].error && !src->items[i].cert->is_ca;
}

/* ------------------------------------------------------------------ text */

static void print_item(const mt_mig_item *item, bool primary)
{
    char fp[17], until[21];
    short_fp(item->cert, fp);
    mt_cli_format_time(item->cert->not_after, until);
    printf("  %s %s \"%s\" until %s%s\n", item->cert_created ? "+" : " ", fp,
           item->cert_label ? item->cert_label : "", until, primary ? " [primary]" : "");
    if (item->key_state == MT_MIG_KEY_NONE)
        printf("      key: none in the token\n");
    else if (item->key_state == MT_MIG_KEY_NOT_EXTRACTABLE)
        printf("      key: stays in the token: \"%s\" id %s: %s\n",
               item->key_label ? item->key_label : "", item->id_hex,
               item->key_reason ? item->key_reason : "not extractable");
    else
        printf("      key: %s\n", item->key_state == MT_MIG_KEY_EXTRACTED ? "extracted and sealed"
                                                                        : "would be extracted");
}

static void print_text(const migrate_args *args, const mt_mig_source *src,
                       const mt_mig_plan *plan, const migrate_counts *c)
{
    printf("source: token \"%s\" (%s, serial %s) in %s\n", src->token_label,
           src->token_manufacturer, src->token_serial, args->module);
    if (args->dry_run)
        printf("dry run: nothing is written\n");
    for (size_t a = 0; a < plan->n_accounts; a++) {
        const mt_mig_account *acc = &plan->accounts[a];
        const char *action = acc->error        ? "FAILED"
                             : !acc->exists    ? (args->dry_run ? "would be created" : "created")
                             : args->dry_run   ? "would be updated"
                                               : "updated";
        printf("account %s: %s, %zu certificate%s%s\n", acc->email, action, acc->n_items,
               acc->n_items == 1 ? "" : "s",
               acc->exists && acc->primary_changes ? ", primary changes" : "");
        if (acc->error)
            printf("  error: %s\n", acc->error);
        for (size_t k = 0; k < acc->n_items; k++)
            print_item(&src->items[acc->items[k]], acc->items[k] == acc->primary);
    }
    for (size_t i = 0; i < src->n_items; i++)
        if (src->items[i].error)
            printf("%s: %s\n", src->items[i].cert->is_ca ? "chain" : "skipped",
                   src->items[i].error);
    for (size_t i = 0; i < src->n_warnings; i++)
        printf("skipped: %s\n", src->warnings[i]);
    printf("summary: %zu accounts (%zu new), %zu certificates (%zu new), %zu keys %s, "
           "%zu keys stay in the token, %zu failed\n",
           c->accounts, c->accounts_new, c->certs, c->certs_new, c->keys_out,
           args->dry_run ? "extractable" : "extracted", c->keys_kept, c->failed);
}

/* ------------------------------------------------------------------ json */

static json_t *json_item(const mt_mig_item *item, bool primary)
{
    char fp[65];
    mt_fingerprint_hex(item->cert->sha256, fp);
    json_t *obj = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s}", "sha256", fp, "label",
                            item->cert_label ? item->cert_label : "", "id", item->id_hex,
                            "not_after", mt_json_time(item->cert->not_after), "primary", primary,
                            "key", key_state_name(item->key_state));
    if (item->key_state == MT_MIG_KEY_NOT_EXTRACTABLE) {
        json_object_set_new(obj, "key_label", json_string(item->key_label ? item->key_label : ""));
        json_object_set_new(obj, "key_reason",
                            json_string(item->key_reason ? item->key_reason : ""));
    }
    if (item->cert_id) {
        json_object_set_new(obj, "certificate_id", json_integer(item->cert_id));
        json_object_set_new(obj, "created", json_boolean(item->cert_created));
    }
    return obj;
}

static void print_json(const migrate_args *args, const mt_mig_source *src,
                       const mt_mig_plan *plan, const migrate_counts *c)
{
    json_t *accounts = json_array(), *skipped = json_array();
    for (size_t a = 0; a < plan->n_accounts; a++) {
        const mt_mig_account *acc = &plan->accounts[a];
        json_t *certs = json_array();
        for (size_t k = 0; k < acc->n_items; k++)
            json_array_append_new(certs, json_item(&src->items[acc->items[k]],
                                                   acc->items[k] == acc->primary));
        json_t *obj = json_pack("{s:s, s:s, s:b, s:o}", "email", acc->email, "action",
                                acc->exists ? "update" : "create", "primary_changes",
                                acc->primary_changes, "certificates", certs);
        if (acc->error)
            json_object_set_new(obj, "error", json_string(acc->error));
        json_array_append_new(accounts, obj);
    }
    for (size_t i = 0; i < src->n_items; i++)
        if (src->items[i].error)
            json_array_append_new(skipped, json_string(src->items[i].error));
    for (size_t i = 0; i < src->n_warnings; i++)
        json_array_append_new(skipped, json_string(src->warnings[i]));
    mt_cli_print_json(json_pack(
        "{s:b, s:{s:s, s:s, s:s}, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "dry_run",
        args->dry_run, "source", "module", args->module, "token", src->token_label, "serial",
        src->token_serial, "accounts", accounts, "skipped", skipped, "summary", "accounts",
        (json_int_t)c->accounts, "accounts_new", (json_int_t)c->accounts_new, "certificates",
        (json_int_t)c->certs, "certificates_new", (json_int_t)c->certs_new, "keys_extracted",
        (json_int_t)c->keys_out, "keys_kept", (json_int_t)c->keys_kept, "failed",
        (json_int_t)c->failed));
}

/* ------------------------------------------------------------------ run */

static int parse_args(mt_cli *cli, int argc, char **argv, migrate_args *args)
{
    static const struct option options[] = {
        {"from-module", required_argument, NULL, OPT_MODULE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"map", required_argument, NULL, OPT_MAP},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        MT_SECRET_OPTIONS("pin", OPT_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "migrate", migrate_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_MODULE)
            args->module = optarg;
        else if (opt == OPT_TOKEN)
            args->token = optarg;
        else if (opt == OPT_MAP)
            args->map = optarg;
        else if (opt == OPT_DRY_RUN)
            args->dry_run = true;
        else
            mt_cli_secret_opt(&args->pin, opt, OPT_PIN, optarg);
    }
    if (opt == MT_OPT_EXIT)
        return code;
    if (optind != argc)
        return mt_cli_usage_error(cli, "migrate", "unexpected argument \"%s\"", argv[optind]);
    if (!args->module || !args->token)
        return mt_cli_usage_error(cli, "migrate", "give --from-module PATH and --token LABEL");
    if (!mt_cli_secret_source_ok(cli, "migrate", &args->pin, &code))
        return code;
    return MT_EXIT_OK;
}

int mt_cmd_migrate(mt_cli *cli, int argc, char **argv)
{
    migrate_args args = {.pin = MT_SECRET_SOURCE_INIT("source token PIN", "pin",
                                                      "MAILTOKEN_SOURCE_PIN")};
    mt_mig_source src = {0};
    mt_mig_plan plan = {0};
    mt_mig_map map = {0};
    mt_secret *pin = NULL;
    mt_store *store = NULL;
    int64_t org_id = 0;
    mt_status st = MT_OK;
    const char *what = args.module;
    int code = parse_args(cli, argc, argv, &args);
    if (code != MT_EXIT_OK)
        goto out;
    code = mt_cli_session(cli, args.dry_run ? MT_OPEN_READONLY : 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    what = "--map";
    if (args.map && (st = mt_mig_map_load(args.map, &map)) != MT_OK)
        goto fail;
    what = "--from-module"; /* a file named that is not there: as for every other option */
    if (access(args.module, R_OK) != 0) {
        st = mt_cli_set_error(MT_ERR_IO, "%s: %s", args.module, strerror(errno));
        goto fail;
    }
    what = "--pin";
    if ((st = mt_cli_read_secret_from(cli, &args.pin, false, &pin)) != MT_OK)
        goto fail;
    what = args.module;
    if ((st = mt_mig_source_open(args.module, args.token, pin, &src)) != MT_OK)
        goto fail;
    mt_mig_extract_keys(&src, args.dry_run);
    mt_mig_assign_emails(&src, &map);
    what = "plan";
    if ((st = mt_mig_plan_build(store, org_id, &src, &plan)) != MT_OK)
        goto fail;
    if (!args.dry_run)
        mt_mig_plan_apply(store, org_id, &src, &plan);
    migrate_counts counts;
    count(&src, &plan, &counts);
    if (cli->json)
        print_json(&args, &src, &plan, &counts);
    else if (!cli->quiet)
        print_text(&args, &src, &plan, &counts);
    code = counts.failed || counts.keys_kept ? MT_EXIT_PARTIAL : MT_EXIT_OK;
    goto out;
fail:
    code = mt_cli_fail(cli, st, what);
out:
    mt_mig_plan_free(&plan);
    mt_mig_source_close(&src);
    mt_mig_map_free(&map);
    mt_secret_free(pin);
    mt_store_close(store);
    return code;
}
