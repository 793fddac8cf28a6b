/* Stored certificates: import (idempotent per organisation), update, delete. */
#include "chain.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FRIENDLY_NAME_MAX 1024
#define DESCRIPTION_MAX 2000

static mt_status check_labels(const char *friendly_name, const char *description)
{
    mt_status st = mt_check_text("friendlyName", friendly_name, FRIENDLY_NAME_MAX, false);
    if (st == MT_OK)
        st = mt_check_text("description", description, DESCRIPTION_MAX, false);
    return st;
}

/* Seals the key to the token of every email the certificate names (tokens on demand). */
static mt_status seal_for_emails(mt_store *store, int64_t org_id, int64_t cert_id,
                                 const mt_cert_info *info, const mt_secret *pkcs8)
{
    uint8_t spki_sha256[32];
    mt_status st = MT_OK;
    crypto_hash_sha256(spki_sha256, info->spki, info->spki_len);
    for (size_t i = 0; st == MT_OK && i < info->n_emails; i++) {
        mt_trusted_pk pk;
        int64_t token_id = 0;
        st = mt_token_ensure(store, org_id, info->emails[i], &token_id, &pk);
        if (st == MT_OK)
            st = mt_token_store_key(store, token_id, &pk, cert_id, spki_sha256, pkcs8);
    }
    return st;
}

static mt_status insert_emails(mt_store *store, int64_t cert_id, const mt_cert_info *info)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, "INSERT INTO certificate_emails (cert_id, email) VALUES (?, ?)"
                              " ON CONFLICT DO NOTHING", &stmt);
    for (size_t i = 0; st == MT_OK && i < info->n_emails; i++) {
        mt_bind_int64(stmt, 1, cert_id);
        mt_bind_text(stmt, 2, info->emails[i]);
        st = mt_db_step_done(store, stmt, "storing the certificate's emails");
        mt_stmt_reset(stmt);
    }
    mt_db_done(stmt);
    return st;
}

static const char *const INSERT_SQL =
    "INSERT INTO certificates (org_id, kind, friendly_name, description, der, sha256, subject,"
    " issuer, serial, not_before, not_after, key_type, key_bits, curve, spki_sha256, has_key,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static mt_status insert_cert_row(mt_store *store, int64_t org_id, const mt_cert_info *info,
                                 bool has_key, const char *friendly_name, const char *description,
                                 int64_t *cert_id)
{
    mt_stmt *stmt = NULL;
    uint8_t spki_sha256[32];
    int64_t now = mt_now();
    crypto_hash_sha256(spki_sha256, info->spki, info->spki_len);
    mt_status st = mt_db_stmt(store, INSERT_SQL, &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_int(stmt, 2, has_key ? MT_CERT_P12 : MT_CERT_PEM);
    mt_bind_text_or_null(stmt, 3, friendly_name && *friendly_name ? friendly_name : NULL);
    mt_bind_text_or_null(stmt, 4, description && *description ? description : NULL);
    mt_bind_blob(stmt, 5, info->der, info->der_len);
    mt_bind_blob(stmt, 6, info->sha256, 32);
    mt_bind_text(stmt, 7, info->subject ? info->subject : "");
    mt_bind_text(stmt, 8, info->issuer ? info->issuer : "");
    mt_bind_text(stmt, 9, info->serial_hex ? info->serial_hex : "");
    mt_bind_int64(stmt, 10, info->not_before);
    mt_bind_int64(stmt, 11, info->not_after);
    mt_bind_text(stmt, 12, mt_key_type_name(info->key_type));
    mt_bind_int(stmt, 13, (int)info->key_bits);
    mt_bind_text_or_null(stmt, 14, info->curve);
    mt_bind_blob(stmt, 15, spki_sha256, 32);
    mt_bind_int(stmt, 16, has_key);
    mt_bind_int64(stmt, 17, now);
    mt_bind_int64(stmt, 18, now);
    st = mt_db_step_done(store, stmt, "storing the certificate");
    mt_db_done(stmt);
    if (st == MT_OK)
        *cert_id = mt_db_last_id(store);
    return st;
}

static mt_status import_event(mt_store *store, int64_t org_id, int64_t cert_id,
                              const mt_cert_info *info, bool has_key, const char *action)
{
    char fp[65], subject[32], detail[2048], email[300];
    size_t used;
    mt_fingerprint_hex(info->sha256, fp);
    snprintf(subject, sizeof(subject), "%lld", (long long)cert_id);
    used = (size_t)snprintf(detail, sizeof(detail), "{\"sha256\":\"%s\",\"privateKey\":%s,\"emails\":[",
                            fp, has_key ? "true" : "false");
    for (size_t i = 0; i < info->n_emails && used < sizeof(detail) - 400; i++) {
        mt_json_escape(info->emails[i], email, sizeof(email));
        used += (size_t)snprintf(detail + used, sizeof(detail) - used, "%s\"%s\"", i ? "," : "", email);
    }
    snprintf(detail + used, sizeof(detail) - used, "]}");
    return mt_event_add(store, org_id, action, subject, detail);
}

mt_status mt_cert_insert(mt_store *store, int64_t org_id, const mt_cert_info *info, bool has_key,
                         bool authority, const char *friendly_name, const char *description,
                         const mt_blob *chain, size_t n_chain, int64_t *cert_id)
{
    mt_status st = insert_cert_row(store, org_id, info, has_key, friendly_name, description, cert_id);
    if (st == MT_ERR_CONFLICT)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation %lld not found", (long long)org_id);
    /* an authority names no account's email, whatever its subject says */
    if (st == MT_OK && !authority)
        st = insert_emails(store, *cert_id, info);
    if (st == MT_OK)
        st = mt_chain_insert(store, *cert_id, chain, n_chain, 0);
    if (st == MT_OK)
        st = import_event(store, org_id, *cert_id, info, has_key, "cert.import");
    return st;
}

/* The entry's chain, completed from the organisation's CA certificates. */
static mt_status entry_chain(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                             mt_chain *chain, size_t *from_store)
{
    mt_status st = MT_OK;
    for (size_t i = 0; i < entry->n_chain && st == MT_OK; i++) {
        mt_blob der = {entry->chain[i]->der, entry->chain[i]->der_len};
        st = mt_chain_append(chain, &der, 1);
    }
    if (st == MT_OK)
        st = mt_chain_complete(store, org_id, entry->cert->der, entry->cert->der_len, chain,
                               from_store);
    return st;
}

/* Finds a certificate by fingerprint: id and whether it has a key (0 when absent). */
mt_status mt_cert_find_by_sha256(mt_store *store, int64_t org_id, const uint8_t sha256[32],
                                int64_t *cert_id, bool *has_key)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    *cert_id = 0;
    mt_status st = mt_db_stmt(store, "SELECT id, has_key FROM certificates WHERE org_id = ? AND sha256 = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_blob(stmt, 2, sha256, 32);
    st = mt_db_step_row(store, stmt, "finding the certificate", &found);
    if (st == MT_OK && found) {
        *cert_id = mt_col_int64(stmt, 0);
        *has_key = mt_col_int(stmt, 1) != 0;
    }
    mt_db_done(stmt);
    return st;
}

static mt_status add_key(mt_store *store, int64_t org_id, int64_t cert_id, const mt_parsed_entry *entry)
{
    mt_stmt *stmt = NULL;
    mt_status st = seal_for_emails(store, org_id, cert_id, entry->cert, entry->pkcs8);
    if (st == MT_OK)
        st = mt_db_stmt(store, "UPDATE certificates SET has_key = 1, kind = ?, updated_at = ? WHERE id = ?", &stmt);
    if (st == MT_OK) {
        mt_bind_int(stmt, 1, MT_CERT_P12);
        mt_bind_int64(stmt, 2, mt_now());
        mt_bind_int64(stmt, 3, cert_id);
        st = mt_db_step_done(store, stmt, "adding the private key");
    }
    mt_db_done(stmt);
    if (st == MT_OK)
        st = import_event(store, org_id, cert_id, entry->cert, true, "cert.add-key");
    return st;
}

/* A certificate already stored: it gains the key it lacked and a longer chain. */
static mt_status update_existing(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                                 bool has_key, const mt_chain *chain, mt_cert_import_result *r)
{
    mt_status st = MT_OK;
    if (!has_key && entry->pkcs8) {
        st = add_key(store, org_id, r->cert_id, entry);
        r->key_added = st == MT_OK;
    }
    if (st == MT_OK)
        st = mt_chain_replace(store, org_id, r->cert_id, chain, &r->chain_added, &r->n_chain);
    return st;
}

static mt_status insert_new(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                            const char *friendly_name, const char *description,
                            const mt_chain *chain, mt_cert_import_result *r)
{
    const mt_cert_info *info = entry->cert;
    mt_status st = mt_cert_insert(store, org_id, info, entry->pkcs8 != NULL, entry->authority,
                                  friendly_name, description, chain->certs, chain->n,
                                  &r->cert_id);
    r->created = st == MT_OK;
    r->n_chain = chain->n;
    if (st == MT_OK && entry->pkcs8)
        st = seal_for_emails(store, org_id, r->cert_id, info, entry->pkcs8);
    if (st == MT_OK && entry->authority)
        st = mt_chain_extend_by(store, org_id, r->cert_id, info, chain, &r->n_extended);
    return st;
}

mt_status mt_store_cert_import_ex(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                                  const char *friendly_name, const char *description,
                                  mt_cert_import_result *result)
{
    mt_cert_import_result r = {0};
    bool has_key = false;
    mt_chain chain = {0};
    if (!store || !entry || !entry->cert)
        return mt_fail(MT_ERR_INVALID, "store and a parsed certificate are required");
    const mt_cert_info *info = entry->cert;
    const char *subject = info->subject ? info->subject : "";
    if (!friendly_name)
        friendly_name = entry->friendly_name;
    mt_status st = check_labels(friendly_name, description);
    if (st != MT_OK)
        return st;
    if (entry->pkcs8 && info->n_emails == 0)
        return mt_fail(MT_ERR_INVALID, "certificate %s names no email address: its private key "
                                       "has no token to be sealed to", subject);
    if (!info->spki || info->spki_len == 0 || !info->der)
        return mt_fail(MT_ERR_INVALID, "certificate %s is incomplete", subject);
    if ((st = mt_tx_begin(store)) != MT_OK)
        return st;
    if ((st = entry_chain(store, org_id, entry, &chain, &r.n_chain_from_store)) != MT_OK ||
        (st = mt_cert_find_by_sha256(store, org_id, info->sha256, &r.cert_id, &has_key)) != MT_OK)
        goto out;
    if (r.cert_id)
        st = update_existing(store, org_id, entry, has_key, &chain, &r);
    else
        st = insert_new(store, org_id, entry, friendly_name, description, &chain, &r);
out:
    mt_chain_clear(&chain);
    st = mt_tx_end(store, st);
    if (st == MT_OK && result)
        *result = r;
    return st;
}

mt_status mt_store_cert_import(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                               const char *friendly_name, const char *description,
                               int64_t *cert_id, bool *created)
{
    mt_cert_import_result r;
    mt_status st = mt_store_cert_import_ex(store, org_id, entry, friendly_name, description, &r);
    if (st == MT_OK && cert_id)
        *cert_id = r.cert_id;
    if (st == MT_OK && created)
        *created = r.created;
    return st;
}

mt_status mt_store_cert_update(mt_store *store, int64_t cert_id, const char *friendly_name,
                               const char *description)
{
    mt_stmt *stmt = NULL;
    char subject[32], detail[64];
    bool found = false;
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = check_labels(friendly_name, description);
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        return st;
    /* ?2/?4: whether to change; "" stores NULL */
    st = mt_db_stmt(store,
                    "UPDATE certificates SET"
                    " friendly_name = CASE WHEN ?2 <> 0 THEN nullif(?3, '') ELSE friendly_name END,"
                    " description = CASE WHEN ?4 <> 0 THEN nullif(?5, '') ELSE description END,"
                    " updated_at = ?6 WHERE id = ?1 RETURNING org_id",
                    &stmt);
    if (st != MT_OK)
        goto out;
    mt_bind_int64(stmt, 1, cert_id);
    mt_bind_int(stmt, 2, friendly_name != NULL);
    mt_bind_text_or_null(stmt, 3, friendly_name);
    mt_bind_int(stmt, 4, description != NULL);
    mt_bind_text_or_null(stmt, 5, description);
    mt_bind_int64(stmt, 6, mt_now());
    if ((st = mt_db_step_row(store, stmt, "updating the certificate", &found)) != MT_OK)
        goto out;
    if (!found) {
        st = mt_fail(MT_ERR_NOT_FOUND, "certificate %lld not found", (long long)cert_id);
        goto out;
    }
    int64_t org_id = mt_col_int64(stmt, 0);
    mt_db_done(stmt);
    snprintf(subject, sizeof(subject), "%lld", (long long)cert_id);
    snprintf(detail, sizeof(detail), "{\"friendlyName\":%s,\"description\":%s}",
             friendly_name ? "true" : "false", description ? "true" : "false");
    st = mt_event_add(store, org_id, "cert.update", subject, detail);
out:
    mt_db_done(stmt);
    return mt_tx_end(store, st);
}

/* Shared with account deletion (purge): refuses a certificate still in use. */
mt_status mt_cert_delete_row(mt_store *store, int64_t cert_id)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    int64_t org_id = 0;
    char subject[32];
    mt_status st = mt_db_stmt(store,
                              "SELECT org_id, (SELECT count(*) FROM account_certificates WHERE cert_id = ?1)"
                              " + (SELECT count(*) FROM accounts WHERE primary_cert_id = ?1)"
                              " FROM certificates WHERE id = ?1",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    if ((st = mt_db_step_row(store, stmt, "finding the certificate", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "certificate %lld not found", (long long)cert_id);
    if (st == MT_OK && mt_col_int64(stmt, 1) > 0)
        st = mt_fail(MT_ERR_CONFLICT, "certificate %lld is used by an account (remove it from "
                     "certificateHistory first)", (long long)cert_id);
    if (st == MT_OK)
        org_id = mt_col_int64(stmt, 0);
    mt_db_done(stmt);
    if (st != MT_OK)
        return st;
    if ((st = mt_db_stmt(store, "DELETE FROM certificates WHERE id = ?", &stmt)) != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    st = mt_db_step_done(store, stmt, "deleting the certificate");
    mt_db_done(stmt);
    if (st == MT_OK)
        st = mt_chain_drop_unused(store);
    snprintf(subject, sizeof(subject), "%lld", (long long)cert_id);
    if (st == MT_OK)
        st = mt_event_add(store, org_id, "cert.delete", subject, "{}");
    return st;
}

mt_status mt_store_cert_delete(mt_store *store, int64_t cert_id)
{
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = mt_tx_begin(store);
    if (st != MT_OK)
        return st;
    return mt_tx_end(store, mt_cert_delete_row(store, cert_id));
}
