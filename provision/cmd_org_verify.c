/* mailtoken org verify / org rewrap: every key the SO PIN can vouch for,
 * checked (mt_store_org_verify); rewrap also tags and records the keys that
 * pass, and wraps the SO PIN again under the configured limits. */
#include "account.h"

#include <stdlib.h>
#include <string.h>

static const char verify_help[] =
    "Usage: mailtoken org verify [--so-pin-file F | --so-pin-env VAR | --so-pin-fd N]\n"
    "\n"
    "Checks what the SO PIN can vouch for: the organisation's recovery key, every\n"
    "token's public key (against its tag, or the record of keys this importer\n"
    "sealed to), every token secret (opened through the recovery key) against its\n"
    "public key, every sealed key against its certificate, and the Argon2id limits\n"
    "of every PIN.  Every mismatch is printed; exit 10 when there is one (the\n"
    "store was tampered with), 0 when all is sound.\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N    the SO PIN\n"
    "  --json   {\"organization\", \"tokens\", \"keys\", \"untagged\", \"unrecorded\",\n"
    "           \"unkeyed\", \"adopted\", \"tampered\", \"findings\": [{\"what\", \"email\",\n"
    "           \"tokenId\", \"id\", \"message\"}]}\n"
    "Environment: MAILTOKEN_SO_PIN when set.\n";

static const char rewrap_help[] =
    "Usage: mailtoken org rewrap [--so-pin-file F | --so-pin-env VAR | --so-pin-fd N]\n"
    "\n"
    "Runs `org verify`, then vouches for the keys that passed every check but are\n"
    "not yet authenticated: rows without a tag (written before the store key\n"
    "file was configured) are tagged, keys this importer has no record of are\n"
    "recorded (needed under `strict`).  The SO PIN is wrapped again under the\n"
    "configured Argon2id limits and store key (user PINs are at their next\n"
    "login).  Output and exit codes as for `org verify`.\n"
    "  --so-pin-file F | --so-pin-env VAR | --so-pin-fd N    the SO PIN\n"
    "Environment: MAILTOKEN_SO_PIN when set.\n";

static json_t *report_json(const mt_verify_report *r, const char *org)
{
    json_t *obj = json_object(), *findings = json_array();
    json_object_set_new(obj, "organization", json_string(org));
    json_object_set_new(obj, "tokens", json_integer((json_int_t)r->tokens));
    json_object_set_new(obj, "keys", json_integer((json_int_t)r->keys));
    json_object_set_new(obj, "untagged", json_integer((json_int_t)r->untagged));
    json_object_set_new(obj, "unrecorded", json_integer((json_int_t)r->unrecorded));
    json_object_set_new(obj, "unkeyed", json_integer((json_int_t)r->unkeyed));
    json_object_set_new(obj, "adopted", json_integer((json_int_t)r->adopted));
    json_object_set_new(obj, "tampered", json_boolean(r->n_findings > 0));
    for (size_t i = 0; i < r->n_findings; i++) {
        const mt_verify_finding *f = &r->findings[i];
        json_t *item = json_object();
        json_object_set_new(item, "what", json_string(f->what));
        json_object_set_new(item, "email", json_string(f->subject));
        json_object_set_new(item, "tokenId", json_integer(f->token_id));
        json_object_set_new(item, "id", f->cert_id ? json_integer(f->cert_id) : json_null());
        json_object_set_new(item, "message", json_string(f->message));
        json_array_append_new(findings, item);
    }
    json_object_set_new(obj, "findings", findings);
    return obj;
}

static void report_text(const mt_verify_report *r, const char *org)
{
    printf("organisation \"%s\": %zu tokens, %zu sealed keys checked\n", org, r->tokens, r->keys);
    for (size_t i = 0; i < r->n_findings; i++)
        printf("TAMPERED  %-13s %s (token %lld): %s\n", r->findings[i].what, r->findings[i].subject,
               (long long)r->findings[i].token_id, r->findings[i].message);
    if (r->untagged)
        printf("%zu rows have no tag (written before the store key file): `mailtoken org rewrap`\n",
               r->untagged);
    if (r->unrecorded)
        printf("%zu keys are not authenticated yet (no tag, not in this importer's record)\n",
               r->unrecorded);
    if (r->unkeyed)
        printf("%zu user PINs were wrapped without the store key: they are at their next login\n",
               r->unkeyed);
    if (r->adopted)
        printf("%zu rows tagged and recorded\n", r->adopted);
    printf("%s\n", r->n_findings ? "the store was tampered with" : "no mismatch");
}

static int run(mt_cli *cli, int argc, char **argv, bool rewrap)
{
    const char *cmd = rewrap ? "org rewrap" : "org verify";
    mt_store *store = NULL;
    mt_secret *so_pin = NULL;
    mt_verify_report *report = NULL;
    mt_org *org = NULL;
    int64_t org_id = 0;
    int code = mt_cli_so_pin_command(cli, cmd, rewrap ? rewrap_help : verify_help, argc, argv, 0, 0,
                                     &store, &org_id, &so_pin);
    if (code != MT_EXIT_OK)
        return code;
    mt_status st = mt_store_org_verify(store, org_id, so_pin, rewrap ? MT_VERIFY_ADOPT : 0, &report);
    if (st == MT_OK)
        st = mt_store_org_find(store, cli->org_name, &org);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, st == MT_ERR_PIN_INCORRECT || st == MT_ERR_PIN_LOCKED ? "SO PIN" : "organisation");
        goto out;
    }
    if (cli->json)
        mt_cli_print_json(report_json(report, org->name));
    else if (!cli->quiet || report->n_findings)
        report_text(report, org->name);
    code = report->n_findings ? MT_EXIT_TAMPERED : MT_EXIT_OK;
out:
    mt_org_free(org);
    mt_verify_report_free(report);
    mt_secret_free(so_pin);
    mt_store_close(store);
    return code;
}

int mt_cmd_org_verify(mt_cli *cli, int argc, char **argv)
{
    return run(cli, argc, argv, false);
}

int mt_cmd_org_rewrap(mt_cli *cli, int argc, char **argv)
{
    return run(cli, argc, argv, true);
}
