/* Imports one certificate file (P12/PFX, PEM bundle with keys, PKCS#7
 * bundle, DER) in its own transaction and describes what happened. */
#include "import.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *format_name(mt_input_format format)
{
    switch (format) {
    case MT_FORMAT_P12:
        return "p12";
    case MT_FORMAT_PEM:
        return "pem";
    case MT_FORMAT_DER:
        return "der";
    case MT_FORMAT_PKCS7:
        return "pkcs7";
    default:
        return "unknown";
    }
}

/* Reads a whole file (at most the parser's limit, so a huge file costs nothing). */
static mt_status read_file(const char *path, uint8_t **data, size_t *len)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    int fd = -1;
    mt_status st = mt_file_open(path, &fd, &size);
    if (st != MT_OK)
        goto out;
    if (size > MT_MAX_INPUT_SIZE) {
        st = mt_cli_set_error(MT_ERR_TOO_LARGE, "%s: %zu bytes, over the %u-byte limit", path,
                              size, MT_MAX_INPUT_SIZE);
        goto out;
    }
    buf = malloc(size + 1);
    if (!buf) {
        st = MT_ERR_NOMEM;
        goto out;
    }
    st = mt_file_read(fd, path, buf, size, len);
    if (st == MT_OK) {
        *data = buf;
        buf = NULL;
    }
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return st;
}

/* The path relative to --dir's folder, or NULL for a file given by name. */
static const char *in_folder(const mt_import_opts *opts, const char *path)
{
    size_t n = opts->folder ? strlen(opts->folder) : 0;
    if (n && strncmp(path, opts->folder, n) == 0 && path[n] == '/')
        return path + n + 1;
    return NULL;
}

/* The password the mapping file gives this file. */
static bool mapped_password(const mt_import_opts *opts, const char *path, const char **pw,
                            size_t *pw_len)
{
    if (!opts->map)
        return false;
    const char *relative = in_folder(opts, path);
    return mt_password_map_find(opts->map, relative ? relative : path, pw, pw_len);
}

#define MT_PASSWORD_TRIES 3

/* Asks for the password of this file until it opens it, at most three
 * times; the last one typed is kept for the files that follow. */
static mt_status ask_password(mt_cli *cli, mt_import_opts *opts, const char *path,
                              const uint8_t *data, size_t len, mt_parsed **parsed)
{
    mt_secret_source src = *opts->password_src;
    char what[300];
    bool had_one = opts->password != NULL; /* the one typed for an earlier file */
    mt_status st = MT_ERR_PASSWORD;
    for (int i = 0; i < MT_PASSWORD_TRIES && st == MT_ERR_PASSWORD; i++) {
        snprintf(what, sizeof(what), "%s of %s (%s)", opts->password_src->what, path,
                 i ? "wrong, try again" : "the last one does not open it");
        src.what = i || had_one ? what : opts->password_src->what;
        mt_secret_free(opts->password);
        opts->password = NULL;
        if ((st = mt_cli_read_secret_from(cli, &src, false, &opts->password)) != MT_OK)
            return st;
        mt_cli_clear_error();
        st = mt_cert_parse(data, len, path, (const char *)opts->password->data,
                           opts->password->len, parsed);
    }
    return st;
}

/* Parses with the given password; with none, a P12 is tried without a
 * password, then with the empty one, then with one asked on the terminal
 * (kept for the files that follow, asked again when it does not fit). */
static mt_status parse_with_password(mt_cli *cli, mt_import_opts *opts, const char *path,
                                     const uint8_t *data, size_t len, mt_parsed **parsed)
{
    const char *pw = NULL;
    size_t pw_len = 0;
    mt_status st;
    if (mapped_password(opts, path, &pw, &pw_len))
        return mt_cert_parse(data, len, path, pw, pw_len, parsed);
    if (opts->password) {
        st = mt_cert_parse(data, len, path, (const char *)opts->password->data,
                           opts->password->len, parsed);
        if (st != MT_ERR_PASSWORD || !opts->may_prompt)
            return st;
    } else {
        if ((st = mt_cert_parse(data, len, path, NULL, 0, parsed)) != MT_ERR_PASSWORD ||
            (st = mt_cert_parse(data, len, path, "", 0, parsed)) != MT_ERR_PASSWORD)
            return st;
    }
    if (!opts->may_prompt)
        return mt_cli_set_error(MT_ERR_PASSWORD,
                                "%s: the %s needs a password: give it with --password-file, "
                                "--password-env, --password-fd or a --passwords mapping file",
                                path, mt_cert_detect_format(data, len) == MT_FORMAT_P12
                                          ? "P12"
                                          : "encrypted private key");
    return ask_password(cli, opts, path, data, len, parsed);
}

static json_t *describe_chain(const mt_parsed_entry *entry)
{
    json_t *chain = json_array();
    for (size_t i = 0; i < entry->n_chain; i++) {
        char fingerprint[65];
        mt_fingerprint_hex(entry->chain[i]->sha256, fingerprint);
        json_t *c = json_object();
        json_object_set_new(c, "subject", json_string(entry->chain[i]->subject));
        json_object_set_new(c, "fingerprint", json_string(fingerprint));
        json_array_append_new(chain, c);
    }
    return chain;
}

static json_t *describe_entry(const mt_parsed_entry *entry, const mt_cert_import_result *r)
{
    char fingerprint[65];
    mt_fingerprint_hex(entry->cert->sha256, fingerprint);
    json_t *emails = json_array();
    for (size_t i = 0; i < entry->cert->n_emails; i++)
        json_array_append_new(emails, json_string(entry->cert->emails[i]));
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(r->cert_id));
    json_object_set_new(obj, "created", json_boolean(r->created));
    json_object_set_new(obj, "fingerprint", json_string(fingerprint));
    json_object_set_new(obj, "subject", json_string(entry->cert->subject));
    json_object_set_new(obj, "serial", json_string(entry->cert->serial_hex));
    json_object_set_new(obj, "emails", emails);
    json_object_set_new(obj, "notAfter", mt_json_time(entry->cert->not_after));
    json_object_set_new(obj, "keyType", json_string(mt_key_type_name(entry->cert->key_type)));
    json_object_set_new(obj, "authority", json_boolean(entry->authority));
    json_object_set_new(obj, "hasPrivateKey", json_boolean(entry->pkcs8 != NULL));
    json_object_set_new(obj, "keyAdded", json_boolean(r->key_added));
    json_object_set_new(obj, "chain", describe_chain(entry));
    json_object_set_new(obj, "chainStored", json_integer((json_int_t)r->n_chain));
    json_object_set_new(obj, "chainFromStore", json_integer((json_int_t)r->n_chain_from_store));
    json_object_set_new(obj, "chainAdded", json_boolean(r->chain_added));
    json_object_set_new(obj, "chainsExtended", json_integer((json_int_t)r->n_extended));
    return obj;
}

/* Stores every entry and, with --account auto, its accounts: all or nothing.
 * *n_changed counts certificates created or completed (key, chain). */
static mt_status store_entries(mt_store *store, int64_t org_id, const mt_import_opts *opts,
                               const mt_parsed *parsed, json_t *certs, json_t *accounts,
                               size_t *n_changed)
{
    mt_status st = mt_store_begin(store);
    if (st != MT_OK)
        return st;
    for (size_t i = 0; i < parsed->n_entries && st == MT_OK; i++) {
        const mt_parsed_entry *entry = &parsed->entries[i];
        const char *name = opts->friendly_name ? opts->friendly_name : entry->friendly_name;
        mt_cert_import_result r;
        st = mt_store_cert_import_ex(store, org_id, entry, name, opts->description, &r);
        if (st != MT_OK)
            break;
        *n_changed += r.created || r.key_added || r.chain_added;
        json_array_append_new(certs, describe_entry(entry, &r));
        /* a CA certificate belongs to no account, whatever its subject says */
        if (opts->account_auto && !entry->authority)
            st = mt_import_auto_accounts(store, org_id, r.cert_id, entry->cert,
                                         entry->pkcs8 != NULL, accounts);
    }
    if (st == MT_OK)
        return mt_store_commit(store);
    char message[1024];
    snprintf(message, sizeof(message), "%s", mt_cli_errmsg());
    mt_store_rollback(store);
    mt_cli_set_error(st, "%s", message); /* the reason, not the rollback's */
    return st;
}

static json_t *skipped_json(const mt_parsed *parsed)
{
    json_t *array = json_array();
    for (size_t i = 0; parsed && i < parsed->n_skipped; i++) {
        const mt_skipped_entry *s = &parsed->skipped[i];
        json_t *obj = json_object();
        json_object_set_new(obj, "friendlyName", s->friendly_name ? json_string(s->friendly_name)
                                                                  : json_null());
        json_object_set_new(obj, "subject", s->subject ? json_string(s->subject) : json_null());
        json_object_set_new(obj, "serial", s->serial_hex ? json_string(s->serial_hex) : json_null());
        json_object_set_new(obj, "fingerprint", s->fingerprint ? json_string(s->fingerprint)
                                                               : json_null());
        json_object_set_new(obj, "algorithm", json_string(s->algorithm ? s->algorithm : "?"));
        json_object_set_new(obj, "reason", json_string(s->reason ? s->reason : "?"));
        json_array_append_new(array, obj);
    }
    return array;
}

static json_t *strings_json(char **items, size_t n)
{
    json_t *array = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(array, json_string(items[i]));
    return array;
}

/* Keeps the failure's message (it lives in this thread's error buffer). */
static void keep_failure(mt_prepared *out, mt_status st)
{
    const char *reason = mt_cli_errmsg();
    size_t n = strlen(out->path);
    if (strncmp(reason, out->path, n) == 0 && strncmp(reason + n, ": ", 2) == 0)
        reason += n + 2; /* every message names the file once, whoever produced it */
    snprintf(out->message, sizeof(out->message), "%s: %s", out->path,
             *reason ? reason : mt_status_name(st));
    mt_cli_clear_error();
    out->status = st;
}

/* NAME.key read with NAME.crt: the two texts as one PEM file. */
static mt_status append_key_file(const char *path, const char *key_path, uint8_t **data,
                                 size_t *len)
{
    uint8_t *key = NULL;
    size_t key_len = 0;
    if (mt_cert_detect_format(*data, *len) != MT_FORMAT_PEM)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: %s goes with a PEM certificate file, and "
                                                "this one is not PEM", path, key_path);
    mt_status st = read_file(key_path, &key, &key_len);
    if (st != MT_OK)
        return st;
    uint8_t *both = NULL;
    if (*len + 1 + key_len > MT_MAX_INPUT_SIZE)
        st = mt_cli_set_error(MT_ERR_TOO_LARGE, "%s with %s: over the %u-byte limit", path,
                              key_path, MT_MAX_INPUT_SIZE);
    else if (!(both = malloc(*len + 1 + key_len + 1)))
        st = MT_ERR_NOMEM;
    if (st == MT_OK) {
        memcpy(both, *data, *len);
        both[*len] = '\n';
        memcpy(both + *len + 1, key, key_len);
        sodium_memzero(*data, *len);
        free(*data);
        *data = both;
        *len += 1 + key_len;
    }
    sodium_memzero(key, key_len);
    free(key);
    return st;
}

/* A file named like a P12 that holds no key says what it is. */
static mt_status name_warning(const mt_prepared *out)
{
    static const char *const p12_names[] = {".p12", ".pfx", ".pkcs12"};
    const mt_parsed *parsed = out->parsed;
    const char *dot = strrchr(out->path, '.');
    bool p12_name = false;
    for (size_t i = 0; dot && i < sizeof(p12_names) / sizeof(*p12_names); i++)
        p12_name |= strcasecmp(dot, p12_names[i]) == 0;
    for (size_t i = 0; i < parsed->n_entries; i++)
        p12_name &= parsed->entries[i].pkcs8 == NULL;
    if (!p12_name || parsed->format == MT_FORMAT_P12)
        return MT_OK;
    const char *kind = parsed->format == MT_FORMAT_DER     ? "DER certificate"
                       : parsed->format == MT_FORMAT_PKCS7 ? "PKCS#7 certificate bundle"
                                                           : "PEM file";
    char **grown = realloc(parsed->warnings, (parsed->n_warnings + 1) * sizeof(*grown));
    if (!grown)
        return MT_ERR_NOMEM;
    out->parsed->warnings = grown;
    if (asprintf(&grown[parsed->n_warnings], "%s: %s, no private key (not a PKCS#12, whatever "
                                             "its name says)", out->path, kind) < 0)
        return MT_ERR_NOMEM;
    out->parsed->n_warnings++;
    return MT_OK;
}

void mt_import_prepare(mt_cli *cli, mt_import_opts *opts, const char *path,
                       const char *key_path, mt_prepared *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof(*out));
    out->path = path;
    out->key_path = key_path;
    mt_status st = read_file(path, &data, &len);
    if (st == MT_OK && key_path)
        st = append_key_file(path, key_path, &data, &len);
    if (st == MT_OK)
        out->format = mt_cert_detect_format(data, len);
    if (st == MT_OK && out->format == MT_FORMAT_UNKNOWN && opts->all_files &&
        in_folder(opts, path) && !mt_has_cert_extension(path)) {
        out->not_certificate = true; /* --all-files: this one is something else */
        goto out;
    }
    if (st == MT_OK)
        st = parse_with_password(cli, opts, path, data, len, &out->parsed);
    if (st == MT_OK && out->parsed->n_entries == 0)
        st = mt_cli_set_error(MT_ERR_INVALID, "%s: no certificate found", path);
    if (st == MT_OK)
        st = name_warning(out);
    if (st != MT_OK) {
        mt_parsed_free(out->parsed);
        out->parsed = NULL;
        keep_failure(out, st);
    }
out:
    if (data)
        sodium_memzero(data, len); /* a PEM file may hold a key in clear */
    free(data);
}

void mt_prepared_clear(mt_prepared *prepared)
{
    mt_parsed_free(prepared->parsed);
    prepared->parsed = NULL;
}

static const char *outcome_name(mt_file_outcome outcome)
{
    switch (outcome) {
    case MT_FILE_IMPORTED:
        return "imported";
    case MT_FILE_PRESENT:
        return "present";
    case MT_FILE_SKIPPED:
        return "skipped";
    default:
        return "failed";
    }
}

mt_file_outcome mt_import_store(mt_store *store, int64_t org_id, const mt_import_opts *opts,
                                mt_prepared *prepared, json_t **result, mt_status *status)
{
    size_t n_changed = 0;
    mt_file_outcome outcome = MT_FILE_FAILED;
    json_t *obj = json_object();
    json_t *certs = json_array(), *accounts = json_array();
    json_object_set_new(obj, "file", json_string(prepared->path));
    if (prepared->key_path)
        json_object_set_new(obj, "keyFile", json_string(prepared->key_path));
    json_object_set_new(obj, "format", json_string(format_name(prepared->format)));
    mt_status st = prepared->status;
    if (prepared->not_certificate) {
        outcome = MT_FILE_SKIPPED;
        json_object_set_new(obj, "reason", json_string("not a certificate file by its content"));
    } else if (st == MT_OK) {
        st = store_entries(store, org_id, opts, prepared->parsed, certs, accounts, &n_changed);
        if (st != MT_OK)
            keep_failure(prepared, st);
        else
            outcome = n_changed > 0 ? MT_FILE_IMPORTED : MT_FILE_PRESENT;
    }
    json_object_set_new(obj, "status", json_string(outcome_name(outcome)));
    if (st == MT_OK && prepared->parsed) {
        json_object_set_new(obj, "certificates", certs);
        json_object_set_new(obj, "accounts", accounts);
        json_object_set_new(obj, "warnings", strings_json(prepared->parsed->warnings,
                                                          prepared->parsed->n_warnings));
        json_object_set_new(obj, "skipped", skipped_json(prepared->parsed));
    } else {
        json_decref(certs);
        json_decref(accounts);
    }
    if (st != MT_OK) {
        json_t *error = json_object();
        json_object_set_new(error, "error", json_string(mt_status_name(st)));
        json_object_set_new(error, "message", json_string(prepared->message));
        json_object_set_new(obj, "error", error);
    }
    *status = st;
    *result = obj;
    return outcome;
}
