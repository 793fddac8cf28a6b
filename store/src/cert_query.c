/* Reading stored certificates: by id, by fingerprint, and filtered lists. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CERT_COLS "id, org_id, kind, friendly_name, description, der, has_key, created_at, updated_at"

void mt_cert_free(mt_cert *cert)
{
    if (!cert)
        return;
    free(cert->friendly_name);
    free(cert->description);
    mt_cert_info_free(cert->info);
    for (size_t i = 0; i < cert->n_chain; i++)
        free(cert->chain[i].data);
    free(cert->chain);
    free(cert);
}

void mt_cert_list_free(mt_cert **certs, size_t n)
{
    for (size_t i = 0; certs && i < n; i++)
        mt_cert_free(certs[i]);
    free(certs);
}

static mt_status load_chain(mt_store *store, mt_cert *cert)
{
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    mt_status st = mt_db_stmt(store, "SELECT c.der FROM certificate_chain l JOIN chain_certificates c ON c.id = l.chain_id"
                              " WHERE l.cert_id = ? ORDER BY l.position", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert->id);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        mt_blob *grown = realloc(cert->chain, (cert->n_chain + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        cert->chain = grown;
        mt_blob *b = &cert->chain[cert->n_chain++];
        b->data = mt_col_blob(stmt, 0, &b->len);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "reading the certificate chain");
    mt_db_done(stmt);
    return st;
}

/* Builds an mt_cert from a row of CERT_COLS (the chain is read separately). */
static mt_status cert_from_row(mt_store *store, mt_stmt *stmt, mt_cert **out)
{
    mt_cert *cert = calloc(1, sizeof(*cert));
    if (!cert)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    cert->id = mt_col_int64(stmt, 0);
    cert->org_id = mt_col_int64(stmt, 1);
    cert->kind = mt_col_int(stmt, 2) == MT_CERT_P12 ? MT_CERT_P12 : MT_CERT_PEM;
    cert->friendly_name = mt_col_text(stmt, 3);
    cert->description = mt_col_text(stmt, 4);
    cert->has_private_key = mt_col_int(stmt, 6) != 0;
    cert->created_at = mt_col_int64(stmt, 7);
    cert->updated_at = mt_col_int64(stmt, 8);
    mt_status st = mt_cert_info_from_der(mt_col_peek_blob(stmt, 5),
                                         (size_t)mt_col_bytes(stmt, 5), &cert->info);
    if (st != MT_OK) {
        mt_cert_free(cert);
        return mt_fail_prefix(MT_ERR_DB, "stored certificate is corrupt: ");
    }
    (void)store;
    *out = cert;
    return MT_OK;
}

static mt_status cert_one(mt_store *store, mt_stmt *stmt, const char *missing, mt_cert **out)
{
    bool found = false;
    mt_cert *cert = NULL;
    mt_status st = mt_db_step_row(store, stmt, "reading the certificate", &found);
    if (st == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "%s", missing);
    if (st == MT_OK)
        st = cert_from_row(store, stmt, &cert);
    mt_db_done(stmt);
    if (st == MT_OK && (st = load_chain(store, cert)) != MT_OK) {
        mt_cert_free(cert);
        cert = NULL;
    }
    *out = cert;
    return st;
}

mt_status mt_store_cert_get(mt_store *store, int64_t cert_id, mt_cert **out)
{
    mt_stmt *stmt = NULL;
    char missing[64];
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = mt_db_stmt(store, "SELECT " CERT_COLS " FROM certificates WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    snprintf(missing, sizeof(missing), "certificate %lld not found", (long long)cert_id);
    return cert_one(store, stmt, missing, out);
}

mt_status mt_store_cert_get_by_fingerprint(mt_store *store, int64_t org_id,
                                           const uint8_t sha256[32], mt_cert **out)
{
    mt_stmt *stmt = NULL;
    char missing[128], hex[65];
    if (!store || !sha256 || !out)
        return mt_fail(MT_ERR_INVALID, "store, fingerprint and out are required");
    *out = NULL;
    mt_status st = mt_db_stmt(store, "SELECT " CERT_COLS " FROM certificates WHERE org_id = ? AND sha256 = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_blob(stmt, 2, sha256, 32);
    mt_fingerprint_hex(sha256, hex);
    snprintf(missing, sizeof(missing), "no certificate with fingerprint %s", hex);
    return cert_one(store, stmt, missing, out);
}

/* ?3 and ?5 hold the same time: one is compared with 0 (no such filter),
 * the other with a time column (a timestamptz on a server). */
#define CERT_FILTER                                                                           \
    " FROM certificates WHERE org_id = ?1"                                                    \
    " AND (?2 IS NULL OR id IN (SELECT cert_id FROM certificate_emails WHERE email = ?2))"    \
    " AND (?3 = 0 OR not_after < ?5) AND (?4 < 0 OR kind = ?4)"

static void bind_query(mt_stmt *stmt, const mt_cert_query *q, const char *email)
{
    mt_bind_int64(stmt, 1, q->org_id);
    mt_bind_text_or_null(stmt, 2, email);
    mt_bind_int64(stmt, 3, q->expiring_before);
    mt_bind_int(stmt, 4, q->kind);
    mt_bind_int64(stmt, 5, q->expiring_before);
}

static mt_status count_certs(mt_store *store, const mt_cert_query *q, const char *email, size_t *total)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT count(*)" CERT_FILTER, &stmt);
    if (st != MT_OK)
        return st;
    bind_query(stmt, q, email);
    st = mt_db_step_row(store, stmt, "counting certificates", &found);
    *total = found ? (size_t)mt_col_int64(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_cert_list(mt_store *store, const mt_cert_query *query, mt_cert ***out,
                             size_t *n, size_t *total)
{
    mt_stmt *stmt = NULL;
    mt_cert **certs = NULL;
    size_t count = 0;
    char *email = NULL;
    int rc = MT_DONE;
    if (!store || !query || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, query, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = MT_OK;
    if (query->email && (st = mt_email_normalize("email", query->email, &email)) != MT_OK)
        return st;
    if (total && (st = count_certs(store, query, email, total)) != MT_OK)
        goto out;
    if ((st = mt_db_stmt(store, "SELECT " CERT_COLS CERT_FILTER " ORDER BY id LIMIT ?6 OFFSET ?7", &stmt)) != MT_OK)
        goto out;
    bind_query(stmt, query, email);
    mt_bind_int64(stmt, 6, query->limit ? (int64_t)query->limit : INT64_MAX); /* no limit */
    mt_bind_int64(stmt, 7, (int64_t)query->offset);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        mt_cert **grown = realloc(certs, (count + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        certs = grown;
        if ((st = cert_from_row(store, stmt, &certs[count])) == MT_OK)
            count++;
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing certificates");
    mt_db_done(stmt);
    for (size_t i = 0; st == MT_OK && i < count; i++)
        st = load_chain(store, certs[i]);
out:
    free(email);
    if (st != MT_OK) {
        mt_cert_list_free(certs, count);
        return st;
    }
    *out = certs;
    *n = count;
    return MT_OK;
}
