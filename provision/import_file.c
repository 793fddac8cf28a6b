/* Imports one certificate file (P12/PFX, PEM bundle, DER) in its own
 * transaction and describes what happened. */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    default:
        return "unknown";
    }
}

/* Reads a whole file (at most the parser's limit, so a huge file costs nothing). */
static mt_status read_file(const char *path, uint8_t **data, size_t *len)
{
    mt_status st = MT_OK;
    struct stat sb;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = mt_cli_set_error(MT_ERR_INVALID, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)sb.st_size > MT_MAX_INPUT_SIZE) {
        st = mt_cli_set_error(MT_ERR_TOO_LARGE, "%s: %lld bytes, over the %u-byte limit", path,
                              (long long)sb.st_size, MT_MAX_INPUT_SIZE);
        goto out;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        st = MT_ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = mt_cli_set_error(MT_ERR_IO, "%s: %s", path, n < 0 ? strerror(errno) : "shrank");
            goto out;
        }
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return st;
}

/* The password of this file as the options give it, or none (NULL). */
static bool given_password(const mt_import_opts *opts, const char *path, const char **pw,
                           size_t *pw_len)
{
    if (opts->map) {
        const char *relative = path;
        size_t n = opts->folder ? strlen(opts->folder) : 0;
        if (n && strncmp(path, opts->folder, n) == 0 && path[n] == '/')
            relative = path + n + 1;
        if (mt_password_map_find(opts->map, relative, pw, pw_len))
            return true;
    }
    if (opts->password) {
        *pw = (const char *)opts->password->data;
        *pw_len = opts->password->len;
        return true;
    }
    return false;
}

/* Parses with the given password; with none, a P12 is tried without a
 * password, then with the empty one, then with one asked on the terminal
 * (kept for the files that follow). */
static mt_status parse_with_password(mt_cli *cli, mt_import_opts *opts, const char *path,
                                     const uint8_t *data, size_t len, mt_parsed **parsed)
{
    const char *pw = NULL;
    size_t pw_len = 0;
    if (given_password(opts, path, &pw, &pw_len))
        return mt_cert_parse(data, len, path, pw, pw_len, parsed);
    mt_status st = mt_cert_parse(data, len, path, NULL, 0, parsed);
    if (st != MT_ERR_PASSWORD)
        return st;
    st = mt_cert_parse(data, len, path, "", 0, parsed);
    if (st != MT_ERR_PASSWORD)
        return st;
    if (!opts->may_prompt)
        return mt_cli_set_error(MT_ERR_PASSWORD,
                                "%s: the P12 needs a password: give it with --password-file, "
                                "--password-env, --password-fd or a --passwords mapping file",
                                path);
    st = mt_cli_read_secret_from(cli, opts->password_src, false, &opts->password);
    if (st != MT_OK)
        return st;
    return mt_cert_parse(data, len, path, (const char *)opts->password->data,
                         opts->password->len, parsed);
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

static json_t *describe_entry(const mt_parsed_entry *entry, int64_t id, bool created)
{
    char fingerprint[65];
    mt_fingerprint_hex(entry->cert->sha256, fingerprint);
    json_t *emails = json_array();
    for (size_t i = 0; i < entry->cert->n_emails; i++)
        json_array_append_new(emails, json_string(entry->cert->emails[i]));
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_integer(id));
    json_object_set_new(obj, "created", json_boolean(created));
    json_object_set_new(obj, "fingerprint", json_string(fingerprint));
    json_object_set_new(obj, "subject", json_string(entry->cert->subject));
    json_object_set_new(obj, "emails", emails);
    json_object_set_new(obj, "notAfter", mt_json_time(entry->cert->not_after));
    json_object_set_new(obj, "hasPrivateKey", json_boolean(entry->pkcs8 != NULL));
    json_object_set_new(obj, "chain", describe_chain(entry));
    return obj;
}

/* Stores every entry and, with --account auto, its accounts: all or nothing. */
static mt_status store_entries(mt_store *store, int64_t org_id, const mt_import_opts *opts,
                               const mt_parsed *parsed, json_t *certs, json_t *accounts,
                               size_t *n_created)
{
    mt_status st = mt_store_begin(store);
    if (st != MT_OK)
        return st;
    for (size_t i = 0; i < parsed->n_entries && st == MT_OK; i++) {
        const mt_parsed_entry *entry = &parsed->entries[i];
        const char *name = opts->friendly_name ? opts->friendly_name : entry->friendly_name;
        int64_t id = 0;
        bool created = false;
        st = mt_store_cert_import(store, org_id, entry, name, opts->description, &id, &created);
        if (st != MT_OK)
            break;
        *n_created += created;
        json_array_append_new(certs, describe_entry(entry, id, created));
        if (opts->account_auto)
            st = mt_import_auto_accounts(store, org_id, id, entry->cert, entry->pkcs8 != NULL,
                                         accounts);
    }
    if (st == MT_OK)
        return mt_store_commit(store);
    char message[1024];
    snprintf(message, sizeof(message), "%s", mt_cli_errmsg());
    mt_store_rollback(store);
    mt_cli_set_error(st, "%s", message); /* the reason, not the rollback's */
    return st;
}

static json_t *strings_json(char **items, size_t n)
{
    json_t *array = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(array, json_string(items[i]));
    return array;
}

mt_file_outcome mt_import_file(mt_cli *cli, mt_store *store, int64_t org_id,
                               mt_import_opts *opts, const char *path, json_t **result,
                               mt_status *status)
{
    uint8_t *data = NULL;
    size_t len = 0, n_created = 0;
    mt_parsed *parsed = NULL;
    mt_file_outcome outcome = MT_FILE_FAILED;
    json_t *obj = json_object();
    json_t *certs = json_array(), *accounts = json_array();
    json_object_set_new(obj, "file", json_string(path));
    mt_status st = read_file(path, &data, &len);
    if (st != MT_OK)
        goto out;
    json_object_set_new(obj, "format", json_string(format_name(mt_cert_detect_format(data, len))));
    st = parse_with_password(cli, opts, path, data, len, &parsed);
    if (st != MT_OK)
        goto out;
    if (parsed->n_entries == 0) {
        st = mt_cli_set_error(MT_ERR_INVALID, "%s: no certificate found", path);
        goto out;
    }
    st = store_entries(store, org_id, opts, parsed, certs, accounts, &n_created);
    if (st != MT_OK)
        goto out;
    outcome = n_created > 0 ? MT_FILE_IMPORTED : MT_FILE_PRESENT;
out:
    json_object_set_new(obj, "status", json_string(outcome == MT_FILE_IMPORTED  ? "imported"
                                                   : outcome == MT_FILE_PRESENT ? "present"
                                                                                : "failed"));
    if (st == MT_OK) {
        json_object_set_new(obj, "certificates", certs);
        json_object_set_new(obj, "accounts", accounts);
        json_object_set_new(obj, "warnings", strings_json(parsed->warnings, parsed->n_warnings));
    } else {
        json_decref(certs);
        json_decref(accounts);
        /* Every message names the file, whoever produced it. */
        const char *reason = mt_cli_errmsg();
        size_t n = strlen(path);
        if (strncmp(reason, path, n) == 0 && strncmp(reason + n, ": ", 2) == 0)
            reason += n + 2;
        char message[1400];
        snprintf(message, sizeof(message), "%s: %s", path, *reason ? reason : mt_status_name(st));
        mt_cli_clear_error();
        json_t *error = json_object();
        json_object_set_new(error, "error", json_string(mt_status_name(st)));
        json_object_set_new(error, "message", json_string(message));
        json_object_set_new(obj, "error", error);
    }
    *status = st;
    *result = obj;
    mt_parsed_free(parsed);
    free(data);
    return outcome;
}
