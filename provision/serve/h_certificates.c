/* certificates: upload (P12, PEM), list, get, update, delete.  Uploads go
 * through `cert import`'s own store step, so keys are sealed exactly as the
 * command line seals them (to the token of each email, no PIN). */
#include "import.h"
#include "serve.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* certificateData of a P12 upload: base64, line breaks allowed. */
static bool decode_base64(mt_api_request *req, const char *text, size_t len, uint8_t **out,
                          size_t *out_len)
{
    size_t max = len / 4 * 3 + 3;
    uint8_t *bin = malloc(max + 1);
    if (!bin) {
        mt_api_fail(req, MT_ERR_NOMEM, "certificateData");
        return false;
    }
    if (sodium_base642bin(bin, max, text, len, " \t\r\n", out_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 &&
        sodium_base642bin(bin, max, text, len, " \t\r\n", out_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
        free(bin);
        mt_api_error(req, 400, "certificateData is not valid base64");
        return false;
    }
    if (*out_len > MT_MAX_INPUT_SIZE) {
        free(bin);
        mt_api_error(req, 413, "certificateData: %zu bytes once decoded, over the %u-byte limit",
                     *out_len, MT_MAX_INPUT_SIZE);
        return false;
    }
    *out = bin;
    return true;
}

/* As `cert import` does: with the password given, else none, else the empty one. */
static mt_status parse(const uint8_t *data, size_t len, const mt_secret *password,
                       mt_parsed **out)
{
    if (password)
        return mt_cert_parse(data, len, "certificateData", (const char *)password->data,
                             password->len, out);
    mt_status st = mt_cert_parse(data, len, "certificateData", NULL, 0, out);
    if (st == MT_ERR_PASSWORD)
        st = mt_cert_parse(data, len, "certificateData", "", 0, out);
    if (st == MT_ERR_PASSWORD) {
        mt_cli_set_error(st, "certificateData: the P12 needs a password: give it as password");
    }
    return st;
}

/* The entries of the file that could not be imported (`cert import --json`'s
 * "skipped"), with the API's name for a serial number. */
static json_t *skipped_json(json_t *skipped)
{
    json_t *out = json_array(), *entry;
    size_t i;
    json_array_foreach(skipped, i, entry)
    {
        json_t *copy = json_copy(entry);
        json_object_set(copy, "serialNumber", json_object_get(entry, "serial"));
        json_object_del(copy, "serial");
        json_array_append_new(out, copy);
    }
    return out;
}

/* Stores the one certificate of the upload; answers 201 (new) or 200 (it was there). */
static void store_upload(mt_api_request *req, mt_prepared *prepared, const char *name,
                         const char *description)
{
    mt_import_opts opts = {.friendly_name = name, .description = description};
    json_t *result = NULL;
    mt_cert *cert = NULL;
    mt_status st = MT_OK;
    mt_api_write_lock(req->server);
    mt_file_outcome outcome = mt_import_store(req->store, req->org_id, &opts, prepared, &result, &st);
    mt_api_write_unlock(req->server);
    if (outcome == MT_FILE_FAILED) {
        mt_cli_set_error(st, "%s", prepared->message);
        mt_api_fail(req, st, NULL);
        goto out;
    }
    json_t *first = json_array_get(json_object_get(result, "certificates"), 0);
    int64_t id = json_integer_value(json_object_get(first, "id"));
    if ((st = mt_store_cert_get(req->store, id, &cert)) != MT_OK) {
        mt_api_fail(req, st, "certificate");
        goto out;
    }
    json_t *obj = mt_api_cert_json(cert);
    json_object_set(obj, "warnings", json_object_get(result, "warnings"));
    json_object_set_new(obj, "skipped", skipped_json(json_object_get(result, "skipped")));
    mt_api_location(req, "certificates/%lld", (long long)id);
    mt_api_reply(req, outcome == MT_FILE_IMPORTED ? 201 : 200, obj);
out:
    mt_cert_free(cert);
    json_decref(result);
}

static void upload(mt_api_request *req, bool p12)
{
    const char *data = NULL, *password = NULL, *name = NULL, *description = NULL;
    size_t data_len = 0, password_len = 0, len = 0;
    uint8_t *decoded = NULL;
    mt_secret *secret = NULL;
    mt_prepared prepared = {.path = "certificateData"};
    if (!mt_api_string(req, "certificateData", true, &data, &data_len) ||
        (p12 && !mt_api_string(req, "password", false, &password, &password_len)) ||
        !mt_api_string(req, "friendlyName", false, &name, NULL) ||
        !mt_api_string(req, "description", false, &description, NULL))
        goto out;
    if (p12 && !decode_base64(req, data, data_len, &decoded, &len))
        goto out;
    const uint8_t *bytes = p12 ? decoded : (const uint8_t *)data;
    len = p12 ? len : data_len;
    prepared.format = mt_cert_detect_format(bytes, len);
    if (p12 && prepared.format != MT_FORMAT_P12) {
        mt_api_error(req, 400, "certificateData is not a PKCS#12 (P12) file");
        goto out;
    }
    if (!p12 && prepared.format != MT_FORMAT_PEM) {
        mt_api_error(req, 400, "certificateData is not PEM text (-----BEGIN CERTIFICATE-----)");
        goto out;
    }
    mt_status st = password ? mt_secret_from(password, password_len, &secret) : MT_OK;
    if (st == MT_OK)
        st = parse(bytes, len, secret, &prepared.parsed);
    if (st == MT_OK && prepared.parsed->n_entries == 0)
        st = mt_cli_set_error(MT_ERR_INVALID, "certificateData: no certificate found");
    else if (st == MT_OK && prepared.parsed->n_entries > 1)
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "certificateData holds %zu certificates: upload one per request",
                              prepared.parsed->n_entries);
    else if (st == MT_OK && p12 && prepared.parsed->entries[0].cert->n_emails == 0)
        /* `cert import` stores it without its key; a P12 upload is for the key */
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "certificateData: certificate \"%s\" names no email address, so its "
                              "private key cannot belong to an account (upload/pem stores such a "
                              "certificate, without a key)",
                              prepared.parsed->entries[0].cert->subject);
    if (st != MT_OK) {
        mt_api_fail(req, st, "certificateData");
        goto out;
    }
    store_upload(req, &prepared, name, description);
out:
    mt_prepared_clear(&prepared);
    mt_secret_free(secret);
    if (decoded) {
        sodium_memzero(decoded, len);
        free(decoded);
    }
}

void mt_api_cert_upload_p12(mt_api_request *req)
{
    upload(req, true);
}

void mt_api_cert_upload_pem(mt_api_request *req)
{
    upload(req, false);
}

void mt_api_cert_list(mt_api_request *req)
{
    mt_cert_query query = {.org_id = req->org_id, .kind = -1};
    mt_cert **certs = NULL;
    size_t n = 0, total = 0;
    char *email = NULL, *kind = NULL;
    if (!mt_api_paging(req, &query.limit, &query.offset) || !mt_api_query(req, "email", &email) ||
        !mt_api_query(req, "kind", &kind))
        goto out;
    if (kind && strcmp(kind, "p12") != 0 && strcmp(kind, "pem") != 0) {
        mt_api_error(req, 400, "kind must be p12 or pem");
        goto out;
    }
    if (kind)
        query.kind = strcmp(kind, "p12") == 0 ? MT_CERT_P12 : MT_CERT_PEM;
    query.email = email;
    mt_status st = mt_store_cert_list(req->store, &query, &certs, &n, &total);
    if (st != MT_OK) {
        mt_api_fail(req, st, "certificates");
        goto out;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, mt_api_cert_json(certs[i]));
    mt_api_reply(req, 200, mt_api_list("certificates", items, query.limit, query.offset, total));
out:
    mt_cert_list_free(certs, n);
    free(email);
    free(kind);
}

void mt_api_cert_get(mt_api_request *req)
{
    mt_cert *cert = NULL;
    if (mt_api_cert(req, "certificateId", req->params[0], &cert))
        mt_api_reply(req, 200, mt_api_cert_json(cert));
    mt_cert_free(cert);
}

/* A PATCH field: absent (NULL), null ("" clears), or a string. */
static bool patch_field(mt_api_request *req, const char *field, const char **out)
{
    json_t *value = json_object_get(req->body, field);
    *out = !value ? NULL : json_is_null(value) ? "" : json_string_value(value);
    if (value && !json_is_null(value) && !json_is_string(value)) {
        mt_api_error(req, 400, "%s must be a string or null", field);
        return false;
    }
    return true;
}

void mt_api_cert_patch(mt_api_request *req)
{
    const char *name = NULL, *description = NULL;
    mt_cert *cert = NULL;
    int64_t id = 0;
    if (!patch_field(req, "friendlyName", &name) || !patch_field(req, "description", &description))
        return;
    if (!name && !description) {
        mt_api_error(req, 400, "give friendlyName or description (or both)");
        return;
    }
    if (!mt_api_cert_id(req, "certificateId", req->params[0], &id))
        return;
    mt_api_write_lock(req->server);
    mt_status st = mt_store_cert_update(req->store, id, name, description);
    mt_api_write_unlock(req->server);
    if (st == MT_OK)
        st = mt_store_cert_get(req->store, id, &cert);
    if (st == MT_OK)
        mt_api_reply(req, 200, mt_api_cert_json(cert));
    else
        mt_api_fail(req, st, NULL);
    mt_cert_free(cert);
}

void mt_api_cert_delete(mt_api_request *req)
{
    int64_t id = 0;
    if (!mt_api_cert_id(req, "certificateId", req->params[0], &id))
        return;
    mt_api_write_lock(req->server);
    mt_status st = mt_store_cert_delete(req->store, id);
    mt_api_write_unlock(req->server);
    if (st == MT_OK)
        mt_api_reply(req, 204, NULL);
    else
        mt_api_fail(req, st, NULL);
}
