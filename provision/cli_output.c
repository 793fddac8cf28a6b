/* Output: JSON objects of the documented schema (mailtoken(1), "JSON
 * OUTPUT"), times, and the progress line of bulk operations. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void mt_cli_print_json(json_t *value)
{
    if (!value)
        return;
    json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(value);
}

void mt_cli_format_time(int64_t unix_time, char out[21])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 21, "%lld", (long long)unix_time);
}

json_t *mt_json_time(int64_t unix_time)
{
    char text[21];
    mt_cli_format_time(unix_time, text);
    return json_string(text);
}

static json_t *json_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *mt_json_cert(const mt_cert *cert)
{
    const mt_cert_info *info = cert->info;
    char fingerprint[65];
    mt_fingerprint_hex(info->sha256, fingerprint);
    json_t *emails = json_array();
    for (size_t i = 0; i < info->n_emails; i++)
        json_array_append_new(emails, json_string(info->emails[i]));
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(cert->id));
    json_object_set_new(obj, "kind", json_string(cert->kind == MT_CERT_P12 ? "p12" : "pem"));
    json_object_set_new(obj, "friendlyName", json_string_or_null(cert->friendly_name));
    json_object_set_new(obj, "description", json_string_or_null(cert->description));
    json_object_set_new(obj, "subject", json_string_or_null(info->subject));
    json_object_set_new(obj, "issuer", json_string_or_null(info->issuer));
    json_object_set_new(obj, "serialNumber", json_string_or_null(info->serial_hex));
    json_object_set_new(obj, "notBefore", mt_json_time(info->not_before));
    json_object_set_new(obj, "notAfter", mt_json_time(info->not_after));
    json_object_set_new(obj, "fingerprint", json_string(fingerprint));
    json_object_set_new(obj, "emails", emails);
    json_object_set_new(obj, "keyType", json_string(mt_key_type_name(info->key_type)));
    json_object_set_new(obj, "keyBits", json_integer(info->key_bits));
    json_object_set_new(obj, "curve", json_string_or_null(info->curve));
    json_object_set_new(obj, "hasPrivateKey", json_boolean(cert->has_private_key));
    json_object_set_new(obj, "emailProtection", json_boolean(info->email_protection));
    json_object_set_new(obj, "chainLength", json_integer((json_int_t)cert->n_chain));
    json_object_set_new(obj, "createdAt", mt_json_time(cert->created_at));
    json_object_set_new(obj, "updatedAt", mt_json_time(cert->updated_at));
    return obj;
}

json_t *mt_json_account(const mt_account *account)
{
    json_t *history = json_array();
    for (size_t i = 0; i < account->n_history; i++)
        json_array_append_new(history, json_integer(account->history[i]));
    json_t *obj = json_object();
    json_object_set_new(obj, "email", json_string(account->email));
    json_object_set_new(obj, "organizationId", json_integer(account->org_id));
    json_object_set_new(obj, "primaryCertificateId", json_integer(account->primary_cert_id));
    json_object_set_new(obj, "certificateHistory", history);
    json_object_set_new(obj, "internal", json_boolean(account->internal));
    json_object_set_new(obj, "tokenId", json_integer(account->token_id));
    json_object_set_new(obj, "createdAt", mt_json_time(account->created_at));
    json_object_set_new(obj, "updatedAt", mt_json_time(account->updated_at));
    return obj;
}

json_t *mt_json_event(const mt_event *e)
{
    json_t *detail = e->detail ? json_loads(e->detail, 0, NULL) : NULL;
    if (!detail)
        detail = e->detail ? json_string(e->detail) : json_null();
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(e->id));
    json_object_set_new(obj, "at", mt_json_time(e->at));
    json_object_set_new(obj, "actor", json_string(e->actor ? e->actor : ""));
    json_object_set_new(obj, "action", json_string(e->action ? e->action : ""));
    json_object_set_new(obj, "subject", e->subject ? json_string(e->subject) : json_null());
    json_object_set_new(obj, "organizationId", json_integer(e->org_id));
    json_object_set_new(obj, "detail", detail);
    return obj;
}

double mt_cli_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mt_cli_progress(mt_cli *cli, size_t done, size_t total, double started, const char *item)
{
    static double last_shown;
    if (!cli->is_tty || cli->quiet || cli->json)
        return;
    double now = mt_cli_monotonic();
    if (done < total && now - last_shown < 0.1)
        return; /* a few updates a second are enough to read */
    last_shown = now;
    double elapsed = now - started;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    unsigned eta = rate > 0 ? (unsigned)((double)(total - done) / rate + 0.5) : 0;
    const char *name = item ? item : "";
    size_t len = strlen(name);
    if (len > 40) {
        name += len - 40; /* the end of a path says most */
        while (((unsigned char)*name & 0xC0) == 0x80)
            name++; /* never start inside a UTF-8 character */
    }
    char visible[256];
    FILE *tty = mt_cli_terminal_err();
    fprintf(tty, "\r\033[K  %zu/%zu  %.1f/s  ETA %u:%02u  %s", done, total, rate, eta / 60,
            eta % 60, mt_cli_visible(name, visible, sizeof(visible)));
    if (done == total)
        fputc('\n', tty);
    fflush(tty);
}
