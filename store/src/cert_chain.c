/* Chains of stored certificates: completed from the organisation's CA
 * certificates (imported on their own), replaced by a longer one, extended
 * when the missing CA certificate arrives later. */
#include "chain.h"
#include "cert_internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 10

void mt_chain_clear(mt_chain *chain)
{
    for (size_t i = 0; i < chain->n; i++)
        free(chain->certs[i].data);
    free(chain->certs);
    memset(chain, 0, sizeof(*chain));
}

static mt_status chain_push(mt_chain *chain, const uint8_t *der, size_t len)
{
    mt_blob *grown = realloc(chain->certs, (chain->n + 1) * sizeof(*grown));
    if (!grown)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    chain->certs = grown;
    mt_blob *b = &chain->certs[chain->n];
    if (!(b->data = mt_memdup(der, len)))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    b->len = len;
    chain->n++;
    return MT_OK;
}

mt_status mt_chain_append(mt_chain *chain, const mt_blob *certs, size_t n)
{
    mt_status st = MT_OK;
    for (size_t i = 0; i < n && st == MT_OK; i++)
        st = chain_push(chain, certs[i].data, certs[i].len);
    return st;
}

/* Id of a shared issuer certificate, stored on first use. */
static mt_status chain_cert_id(mt_store *store, const mt_blob *der, int64_t *id)
{
    mt_stmt *stmt = NULL;
    uint8_t sha256[32];
    bool found = false;
    crypto_hash_sha256(sha256, der->data, der->len);
    mt_status st = mt_db_stmt(store,
                              "INSERT INTO chain_certificates (sha256, der) VALUES (?1, ?2)"
                              " ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256 RETURNING id",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_blob(stmt, 1, sha256, 32);
    mt_bind_blob(stmt, 2, der->data, der->len);
    if ((st = mt_db_step_row(store, stmt, "storing a chain certificate", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_INTERNAL, "chain certificate id missing");
    if (st == MT_OK)
        *id = mt_col_int64(stmt, 0);
    mt_db_done(stmt);
    return st;
}

mt_status mt_chain_insert(mt_store *store, int64_t cert_id, const mt_blob *certs, size_t n,
                          size_t first)
{
    mt_stmt *stmt = NULL;
    mt_status st = MT_OK;
    for (size_t i = 0; st == MT_OK && i < n; i++) {
        int64_t chain_id = 0;
        if ((st = chain_cert_id(store, &certs[i], &chain_id)) != MT_OK ||
            (st = mt_db_stmt(store, "INSERT INTO certificate_chain (cert_id, position, chain_id) VALUES (?, ?, ?)",
                             &stmt)) != MT_OK)
            break;
        mt_bind_int64(stmt, 1, cert_id);
        mt_bind_int64(stmt, 2, (int64_t)(first + i));
        mt_bind_int64(stmt, 3, chain_id);
        st = mt_db_step_done(store, stmt, "storing the certificate chain");
        mt_db_done(stmt);
    }
    return st;
}

static X509 *x509_of(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    return x;
}

static bool self_issued(X509 *x)
{
    bool yes = X509_check_issued(x, x) == X509_V_OK;
    ERR_clear_error();
    return yes;
}

/* ca issued cert: names, key identifiers, CA flag and the signature itself. */
static bool issued_by(X509 *ca, X509 *cert)
{
    EVP_PKEY *key = X509_get0_pubkey(ca);
    bool yes = X509_check_ca(ca) != 0 && X509_check_issued(ca, cert) == X509_V_OK && key &&
               X509_verify(cert, key) == 1;
    ERR_clear_error();
    return yes;
}

static bool chain_has(const mt_chain *chain, const uint8_t *der, size_t len)
{
    for (size_t i = 0; i < chain->n; i++)
        if (chain->certs[i].len == len && memcmp(chain->certs[i].data, der, len) == 0)
            return true;
    return false;
}

/* The stored CA certificate of the organisation that issued cert, as DER. */
static mt_status find_issuer(mt_store *store, int64_t org_id, X509 *cert, const mt_chain *chain,
                             uint8_t **der, size_t *len)
{
    mt_stmt *stmt = NULL;
    char *issuer = NULL;
    int rc = MT_DONE;
    *der = NULL;
    mt_status st = mt_x509_name_text(X509_get_issuer_name(cert), &issuer);
    if (st == MT_OK)
        st = mt_db_stmt(store, "SELECT der FROM certificates WHERE org_id = ? AND subject = ?",
                        &stmt);
    if (st != MT_OK)
        goto out;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, issuer);
    while (!*der && (rc = mt_step(stmt)) == MT_ROW) {
        const uint8_t *candidate = mt_col_peek_blob(stmt, 0);
        size_t n = (size_t)mt_col_bytes(stmt, 0);
        X509 *ca = x509_of(candidate, n);
        if (ca && issued_by(ca, cert) && !chain_has(chain, candidate, n)) {
            *len = n;
            if (!(*der = mt_memdup(candidate, n)))
                st = mt_fail(MT_ERR_NOMEM, "out of memory");
        }
        X509_free(ca);
    }
    if (st == MT_OK && rc != MT_ROW && rc != MT_DONE)
        st = mt_db_error(store, rc, "finding the issuer certificate");
out:
    mt_db_done(stmt);
    free(issuer);
    return st;
}

mt_status mt_chain_complete(mt_store *store, int64_t org_id, const uint8_t *leaf,
                            size_t leaf_len, mt_chain *chain, size_t *added)
{
    mt_status st = MT_OK;
    *added = 0;
    while (st == MT_OK && chain->n < MAX_CHAIN) {
        const mt_blob *tail = chain->n ? &chain->certs[chain->n - 1] : NULL;
        X509 *x = tail ? x509_of(tail->data, tail->len) : x509_of(leaf, leaf_len);
        uint8_t *der = NULL;
        size_t len = 0;
        if (!x || self_issued(x)) {
            X509_free(x);
            break;
        }
        st = find_issuer(store, org_id, x, chain, &der, &len);
        X509_free(x);
        if (st != MT_OK || !der)
            break;
        st = chain_push(chain, der, len);
        free(der);
        if (st == MT_OK)
            (*added)++;
    }
    return st;
}

mt_status mt_chain_load(mt_store *store, int64_t cert_id, mt_chain *chain)
{
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    mt_status st = mt_db_stmt(store,
                              "SELECT c.der FROM certificate_chain l JOIN chain_certificates c"
                              " ON c.id = l.chain_id WHERE l.cert_id = ? ORDER BY l.position",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW)
        st = chain_push(chain, mt_col_peek_blob(stmt, 0), (size_t)mt_col_bytes(stmt, 0));
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "reading the certificate chain");
    mt_db_done(stmt);
    return st;
}

mt_status mt_chain_drop_unused(mt_store *store)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store,
                              "DELETE FROM chain_certificates WHERE NOT EXISTS (SELECT 1 FROM"
                              " certificate_chain WHERE chain_id = chain_certificates.id)",
                              &stmt);
    if (st == MT_OK)
        st = mt_db_step_done(store, stmt, "deleting unused chain certificates");
    mt_db_done(stmt);
    return st;
}

/* Stores chain->certs[from..] after the first `from` positions, with an event. */
static mt_status store_tail(mt_store *store, int64_t org_id, int64_t cert_id,
                            const mt_chain *chain, size_t from, const char *why)
{
    char subject[32], detail[96];
    mt_status st = mt_chain_insert(store, cert_id, chain->certs + from, chain->n - from, from);
    snprintf(subject, sizeof(subject), "%lld", (long long)cert_id);
    snprintf(detail, sizeof(detail), "{\"chain\":%zu,\"added\":%zu,\"from\":\"%s\"}", chain->n,
             chain->n - from, why);
    if (st == MT_OK)
        st = mt_event_add(store, org_id, "cert.chain", subject, detail);
    return st;
}

mt_status mt_chain_replace(mt_store *store, int64_t org_id, int64_t cert_id,
                           const mt_chain *chain, bool *replaced, size_t *n_stored)
{
    mt_chain stored = {0};
    mt_stmt *stmt = NULL;
    *replaced = false;
    mt_status st = mt_chain_load(store, cert_id, &stored);
    *n_stored = stored.n;
    if (st != MT_OK || stored.n >= chain->n)
        goto out;
    size_t keep = 0;
    while (keep < stored.n && stored.certs[keep].len == chain->certs[keep].len &&
           memcmp(stored.certs[keep].data, chain->certs[keep].data, stored.certs[keep].len) == 0)
        keep++;
    if ((st = mt_db_stmt(store, "DELETE FROM certificate_chain WHERE cert_id = ? AND position >= ?",
                         &stmt)) != MT_OK)
        goto out;
    mt_bind_int64(stmt, 1, cert_id);
    mt_bind_int64(stmt, 2, (int64_t)keep);
    st = mt_db_step_done(store, stmt, "replacing the certificate chain");
    mt_db_done(stmt);
    if (st == MT_OK)
        st = store_tail(store, org_id, cert_id, chain, keep, "import");
    if (st == MT_OK && keep < stored.n)
        st = mt_chain_drop_unused(store);
    *replaced = st == MT_OK;
    *n_stored = chain->n;
out:
    mt_chain_clear(&stored);
    return st;
}

/* Certificates whose chain (or the certificate itself, with no chain) ends
 * in a certificate naming ca_subject_der as its issuer: id, tail, length. */
#define TAILS_SQL(contains)                                                                   \
    "SELECT id, tail, n FROM (SELECT c.id AS id, (SELECT count(*) FROM certificate_chain"       \
    " WHERE cert_id = c.id) AS n, coalesce((SELECT cc.der FROM certificate_chain l JOIN"        \
    " chain_certificates cc ON cc.id = l.chain_id WHERE l.cert_id = c.id ORDER BY l.position"   \
    " DESC LIMIT 1), c.der) AS tail FROM certificates c WHERE c.org_id = ?1 AND c.id <> ?2)"    \
    " AS tails WHERE " contains " > 0"
static const char *const TAILS_SQLITE = TAILS_SQL("instr(tail, ?3)");
static const char *const TAILS_PG = TAILS_SQL("position(?3 in tail)");

typedef struct extension {
    int64_t cert_id;
    size_t n_chain;
} extension;

/* The certificates the new CA certificate extends, read before any write. */
static mt_status tails_issued_by(mt_store *store, int64_t org_id, int64_t ca_id,
                                 const mt_cert_info *ca_info, X509 *ca, extension **out,
                                 size_t *n)
{
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    mt_status st = mt_db_stmt(store, MT_SQL(store, TAILS_SQLITE, TAILS_PG), &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_int64(stmt, 2, ca_id);
    mt_bind_blob(stmt, 3, ca_info->subject_der, ca_info->subject_der_len);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        X509 *tail = x509_of(mt_col_peek_blob(stmt, 1), (size_t)mt_col_bytes(stmt, 1));
        size_t n_chain = (size_t)mt_col_int64(stmt, 2);
        if (tail && !self_issued(tail) && issued_by(ca, tail) && n_chain < MAX_CHAIN) {
            extension *grown = realloc(*out, (*n + 1) * sizeof(*grown));
            if (!grown)
                st = mt_fail(MT_ERR_NOMEM, "out of memory");
            else
                (*out = grown)[(*n)++] = (extension){mt_col_int64(stmt, 0), n_chain};
        }
        X509_free(tail);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "finding the certificates a CA certificate issued");
    mt_db_done(stmt);
    return st;
}

mt_status mt_chain_extend_by(mt_store *store, int64_t org_id, int64_t ca_id,
                             const mt_cert_info *ca_info, const mt_chain *ca_chain,
                             size_t *n_extended)
{
    extension *found = NULL;
    size_t n = 0;
    mt_chain chain = {0};
    X509 *ca = x509_of(ca_info->der, ca_info->der_len);
    *n_extended = 0;
    mt_status st = ca ? tails_issued_by(store, org_id, ca_id, ca_info, ca, &found, &n) : MT_OK;
    for (size_t i = 0; i < n && st == MT_OK; i++) {
        mt_chain_clear(&chain);
        if ((st = mt_chain_load(store, found[i].cert_id, &chain)) != MT_OK)
            break;
        size_t from = chain.n;
        st = chain_push(&chain, ca_info->der, ca_info->der_len);
        for (size_t k = 0; k < ca_chain->n && st == MT_OK && chain.n < MAX_CHAIN; k++)
            st = chain_push(&chain, ca_chain->certs[k].data, ca_chain->certs[k].len);
        if (st == MT_OK)
            st = store_tail(store, org_id, found[i].cert_id, &chain, from, "ca-import");
        if (st == MT_OK)
            (*n_extended)++;
    }
    mt_chain_clear(&chain);
    free(found);
    X509_free(ca);
    return st;
}
