/* Renewals: sealing the candidate key and installing the issued certificate. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

/* SubjectPublicKeyInfo DER of a PKCS#8 private key. */
static mt_status spki_of_pkcs8(const mt_secret *pkcs8, uint8_t **spki, size_t *spki_len)
{
    const unsigned char *p = pkcs8->data;
    unsigned char *der = NULL;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)pkcs8->len);
    mt_status st = MT_OK;
    if (!key)
        return mt_fail(MT_ERR_INVALID, "candidate key: not a PKCS#8 private key");
    int len = i2d_PUBKEY(key, &der);
    if (len <= 0)
        st = mt_fail(MT_ERR_CRYPTO, "candidate key: cannot encode its public key");
    else if (!(*spki = mt_memdup(der, (size_t)len)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    else
        *spki_len = (size_t)len;
    OPENSSL_free(der);
    EVP_PKEY_free(key);
    return st;
}

static mt_status active_renewal(mt_store *store, int64_t renewal_id, mt_renewal **out)
{
    mt_status st = mt_store_renewal_get(store, renewal_id, out);
    if (st == MT_OK && !mt_renewal_state_is_active((*out)->state)) {
        st = mt_fail(MT_ERR_CONFLICT, "renewal %lld is %s", (long long)renewal_id,
                     mt_renewal_state_name((*out)->state));
        mt_renewal_free(*out);
        *out = NULL;
    }
    return st;
}

mt_status mt_store_renewal_set_candidate_key(mt_store *store, int64_t renewal_id,
                                             const mt_secret *pkcs8)
{
    mt_renewal *r = NULL;
    uint8_t *spki = NULL, spki_sha256[32];
    mt_trusted_pk pk;
    size_t spki_len = 0;
    int64_t token_id = 0;
    mt_blob sealed = {0};
    mt_stmt *stmt = NULL;
    char detail[64];
    if (!store || !pkcs8 || !pkcs8->data)
        return mt_fail(MT_ERR_INVALID, "store and candidate key are required");
    mt_status st = spki_of_pkcs8(pkcs8, &spki, &spki_len);
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        goto done;
    if ((st = active_renewal(store, renewal_id, &r)) != MT_OK)
        goto out;
    if (r->state != MT_RENEWAL_PLANNED && r->state != MT_RENEWAL_KEY_READY) {
        st = mt_fail(MT_ERR_CONFLICT, "renewal %lld is already %s: its key cannot change",
                     (long long)renewal_id, mt_renewal_state_name(r->state));
        goto out;
    }
    crypto_hash_sha256(spki_sha256, spki, spki_len);
    if ((st = mt_token_ensure(store, r->org_id, r->email, &token_id, &pk)) != MT_OK ||
        (st = mt_seal_key(&pk, spki_sha256, pkcs8, &sealed)) != MT_OK)
        goto out;
    st = mt_db_stmt(store,
                    "UPDATE renewals SET candidate_spki = ?, candidate_sealed = ?, candidate_token_id = ?,"
                    " state = ?, updated_at = ? WHERE id = ?",
                    &stmt);
    if (st != MT_OK)
        goto out;
    mt_bind_blob(stmt, 1, spki, spki_len);
    mt_bind_blob(stmt, 2, sealed.data, sealed.len);
    mt_bind_int64(stmt, 3, token_id);
    mt_bind_int(stmt, 4, MT_RENEWAL_KEY_READY);
    mt_bind_int64(stmt, 5, mt_now());
    mt_bind_int64(stmt, 6, renewal_id);
    st = mt_db_step_done(store, stmt, "storing the candidate key");
    mt_db_done(stmt);
    snprintf(detail, sizeof(detail), "{\"renewal\":%lld}", (long long)renewal_id);
    if (st == MT_OK)
        st = mt_event_add(store, r->org_id, "renewal.key-ready", r->email, detail);
out:
    st = mt_tx_end(store, st);
done:
    mt_renewal_free(r);
    free(sealed.data);
    free(spki);
    return st;
}

/* The candidate's sealed key and the token it is sealed to. */
static mt_status candidate_sealed(mt_store *store, int64_t renewal_id, mt_blob *sealed, int64_t *token_id)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT candidate_sealed, candidate_token_id FROM renewals WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, renewal_id);
    st = mt_db_step_row(store, stmt, "reading the candidate key", &found);
    if (st == MT_OK && (!found || mt_col_is_null(stmt, 0)))
        st = mt_fail(MT_ERR_CONFLICT, "renewal %lld has no candidate key yet", (long long)renewal_id);
    if (st == MT_OK) {
        sealed->data = mt_col_blob(stmt, 0, &sealed->len);
        *token_id = mt_col_int64(stmt, 1);
    }
    mt_db_done(stmt);
    return st;
}

static mt_status check_issued(const mt_renewal *r, const mt_cert_info *info)
{
    bool names_email = false;
    if (!r->candidate_spki)
        return mt_fail(MT_ERR_CONFLICT, "renewal %lld has no candidate key yet", (long long)r->id);
    if (info->spki_len != r->candidate_spki_len || memcmp(info->spki, r->candidate_spki, info->spki_len) != 0)
        return mt_fail(MT_ERR_INVALID, "issued certificate: its public key is not the renewal's candidate key");
    for (size_t i = 0; i < info->n_emails; i++)
        names_email |= !strcmp(info->emails[i], r->email);
    if (!names_email)
        return mt_fail(MT_ERR_INVALID, "issued certificate does not name %s", r->email);
    return MT_OK;
}

/* Stores the issued certificate (or reuses it) with the candidate's sealed key. */
static mt_status store_issued(mt_store *store, const mt_renewal *r, const mt_cert_info *info,
                              const mt_blob *chain, size_t n_chain, int64_t *cert_id)
{
    mt_blob sealed = {0};
    int64_t token_id = 0;
    bool has_key = false;
    mt_stmt *stmt = NULL;
    mt_status st = candidate_sealed(store, r->id, &sealed, &token_id);
    if (st == MT_OK)
        st = mt_cert_find_by_sha256(store, r->org_id, info->sha256, cert_id, &has_key);
    if (st == MT_OK && !*cert_id)
        st = mt_cert_insert(store, r->org_id, info, true, false, NULL, NULL, chain, n_chain, cert_id);
    if (st == MT_OK)
        st = mt_db_stmt(store, MT_SEALED_KEY_UPSERT, &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, *cert_id);
        mt_bind_int64(stmt, 2, token_id);
        mt_bind_blob(stmt, 3, sealed.data, sealed.len);
        st = mt_db_step_done(store, stmt, "storing the renewed key");
        mt_db_done(stmt);
    }
    if (st == MT_OK && !has_key)
        st = mt_db_stmt(store, "UPDATE certificates SET has_key = 1, kind = 1 WHERE id = ?", &stmt);
    if (st == MT_OK && !has_key) {
        mt_bind_int64(stmt, 1, *cert_id);
        st = mt_db_step_done(store, stmt, "marking the renewed key");
        mt_db_done(stmt);
    }
    free(sealed.data);
    return st;
}

static mt_status mark_installed(mt_store *store, mt_renewal *r, int64_t cert_id,
                                const uint8_t *cert_der, size_t cert_der_len)
{
    mt_stmt *stmt = NULL;
    char detail[96];
    mt_status st = mt_db_stmt(store,
                              "UPDATE renewals SET state = ?, new_cert_id = ?, cert_der = ?, updated_at = ?"
                              " WHERE id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int(stmt, 1, MT_RENEWAL_INSTALLED);
    mt_bind_int64(stmt, 2, cert_id);
    mt_bind_blob(stmt, 3, cert_der, cert_der_len);
    mt_bind_int64(stmt, 4, mt_now());
    mt_bind_int64(stmt, 5, r->id);
    st = mt_db_step_done(store, stmt, "recording the installation");
    mt_db_done(stmt);
    snprintf(detail, sizeof(detail), "{\"renewal\":%lld,\"certificateId\":%lld}", (long long)r->id,
             (long long)cert_id);
    if (st == MT_OK)
        st = mt_event_add(store, r->org_id, "renewal.installed", r->email, detail);
    return st;
}

mt_status mt_store_renewal_install(mt_store *store, int64_t renewal_id, const uint8_t *cert_der,
                                   size_t cert_der_len, const mt_blob *chain, size_t n_chain)
{
    mt_renewal *r = NULL;
    mt_cert_info *info = NULL;
    int64_t cert_id = 0;
    if (!store || !cert_der || !cert_der_len || (n_chain && !chain))
        return mt_fail(MT_ERR_INVALID, "store and the issued certificate are required");
    mt_status st = mt_cert_info_from_der(cert_der, cert_der_len, &info);
    if (st != MT_OK)
        return mt_fail_prefix(st, "issued certificate: ");
    if ((st = mt_tx_begin(store)) != MT_OK)
        goto done;
    if ((st = mt_store_renewal_get(store, renewal_id, &r)) != MT_OK)
        goto out;
    /* already installed with this very certificate: nothing to do */
    if (r->state == MT_RENEWAL_INSTALLED && r->cert_der_len == cert_der_len &&
        !memcmp(r->cert_der, cert_der, cert_der_len))
        goto out;
    if (!mt_renewal_state_is_active(r->state) || r->state == MT_RENEWAL_INSTALLED) {
        st = mt_fail(MT_ERR_CONFLICT, "renewal %lld is %s", (long long)renewal_id, mt_renewal_state_name(r->state));
        goto out;
    }
    if ((st = check_issued(r, info)) != MT_OK ||
        (st = store_issued(store, r, info, chain, n_chain, &cert_id)) != MT_OK ||
        (st = mt_store_account_add_to_history(store, r->org_id, r->email, cert_id)) != MT_OK ||
        (st = mt_store_account_set_primary(store, r->org_id, r->email, cert_id)) != MT_OK)
        goto out;
    st = mark_installed(store, r, cert_id, cert_der, cert_der_len);
out:
    st = mt_tx_end(store, st);
done:
    mt_renewal_free(r);
    mt_cert_info_free(info);
    return st;
}
