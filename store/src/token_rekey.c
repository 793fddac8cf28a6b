/* A token's new key pair, for a suspected compromise of the old one (store.h,
 * mt_store_token_rekey): every key sealed to the old public key is opened
 * with the old secret and sealed to the new key, in one transaction. */
#include "auth.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct rekey {
    mt_store *store;
    int64_t token_id, org_id;
    const char *email;
    uint8_t old_pk[MT_SEAL_PK_LEN];
    mt_secret *old_sk;
    mt_trusted_pk new_pk;
    size_t n_keys;
} rekey;

/* What is sealed to the token: the certificates' keys, then renewal candidates. */
static const char *const SEALED_SQL[] = {
    "SELECT s.cert_id, s.sealed, c.der FROM sealed_keys s JOIN certificates c ON c.id = s.cert_id"
    " WHERE s.token_id = ? ORDER BY s.cert_id",
    "SELECT id, candidate_sealed, candidate_spki FROM renewals"
    " WHERE candidate_token_id = ? AND candidate_sealed IS NOT NULL ORDER BY id",
};
static const char *const RESEAL_SQL[] = {
    "UPDATE sealed_keys SET sealed = ?1 WHERE cert_id = ?2 AND token_id = ?3",
    "UPDATE renewals SET candidate_sealed = ?1 WHERE id = ?2 AND candidate_token_id = ?3",
};

/* One sealed value: opened (checked against its public key), sealed again. */
static mt_status reseal_one(rekey *k, int kind, int64_t id, const mt_blob *sealed, const uint8_t *der,
                            size_t der_len)
{
    mt_cert_info *cert = NULL;
    mt_secret *pkcs8 = NULL;
    mt_blob fresh = {0};
    mt_stmt *stmt = NULL;
    uint8_t spki_sha256[32];
    const uint8_t *spki = der;
    size_t spki_len = der_len;
    mt_status st = MT_OK;
    if (kind == 0 && (st = mt_cert_info_from_der(der, der_len, &cert)) == MT_OK) {
        spki = cert->spki;
        spki_len = cert->spki_len;
    }
    if (st == MT_OK && (st = mt_key_open_checked(k->old_pk, k->old_sk, spki, spki_len, sealed, &pkcs8)) != MT_OK)
        st = mt_tampered(k->store, k->org_id, k->email, "%s %lld of token %lld: %s", kind == 0 ? "certificate" : "renewal",
                         (long long)id, (long long)k->token_id, mt_errmsg());
    if (st == MT_OK) {
        crypto_hash_sha256(spki_sha256, spki, spki_len);
        st = mt_seal_key(&k->new_pk, spki_sha256, pkcs8, &fresh);
    }
    if (st == MT_OK && (st = mt_db_stmt(k->store, RESEAL_SQL[kind], &stmt)) == MT_OK) {
        mt_bind_blob(stmt, 1, fresh.data, fresh.len);
        mt_bind_int64(stmt, 2, id);
        mt_bind_int64(stmt, 3, k->token_id);
        st = mt_db_step_done(k->store, stmt, "sealing a key again");
        mt_db_done(stmt);
    }
    k->n_keys += st == MT_OK;
    free(fresh.data);
    mt_secret_free(pkcs8);
    mt_cert_info_free(cert);
    return st;
}

/* The rows are read first: the updates then never run under an open SELECT. */
static mt_status reseal_kind(rekey *k, int kind)
{
    mt_stmt *stmt = NULL;
    struct item {
        int64_t id;
        mt_blob sealed, der;
    } *items = NULL;
    size_t n = 0;
    int rc;
    mt_status st = mt_db_stmt(k->store, SEALED_SQL[kind], &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, k->token_id);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        struct item *grown = realloc(items, (n + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        items = grown;
        items[n].id = mt_col_int64(stmt, 0);
        items[n].sealed.data = mt_col_blob(stmt, 1, &items[n].sealed.len);
        items[n].der.data = mt_col_blob(stmt, 2, &items[n].der.len);
        n++;
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(k->store, rc, "reading sealed keys");
    mt_db_done(stmt);
    for (size_t i = 0; st == MT_OK && i < n; i++)
        st = reseal_one(k, kind, items[i].id, &items[i].sealed, items[i].der.data, items[i].der.len);
    for (size_t i = 0; i < n; i++) {
        free(items[i].sealed.data);
        free(items[i].der.data);
    }
    free(items);
    return st;
}

/* The new public key and recovery seal; the PIN and its counter go. */
static mt_status replace_key(rekey *k, int64_t org_id, const char *email)
{
    mt_trusted_pk recovery_pk;
    mt_secret *sk = NULL;
    mt_blob sealed = {0};
    mt_stmt *stmt = NULL;
    mt_key_row row = {.org_id = org_id, .id = k->token_id, .name = email};
    mt_status st = mt_org_trusted_pk(k->store, org_id, &recovery_pk);
    if (st == MT_OK)
        st = mt_seal_keypair(row.pk, &sk);
    if (st == MT_OK)
        st = mt_seal_secret(&recovery_pk, sk, &sealed);
    if (st == MT_OK)
        st = mt_db_stmt(k->store,
                        "UPDATE tokens SET public_key = ?, recovery_sealed = ?, pk_tag = NULL,"
                        " pin_wrapped = NULL, pin_salt = NULL, pin_ops = NULL, pin_mem = NULL,"
                        " pin_store_key = NULL, failed_logins = 0, updated_at = ? WHERE id = ?",
                        &stmt);
    if (st == MT_OK) {
        mt_bind_blob(stmt, 1, row.pk, MT_SEAL_PK_LEN);
        mt_bind_blob(stmt, 2, sealed.data, sealed.len);
        mt_bind_int64(stmt, 3, mt_now());
        mt_bind_int64(stmt, 4, k->token_id);
        st = mt_db_step_done(k->store, stmt, "storing the token's new key");
        mt_db_done(stmt);
    }
    /* a key made here: tagged and recorded (the latest record wins) */
    if (st == MT_OK && (st = mt_auth_write_tag(k->store, &row)) == MT_OK)
        st = mt_auth_key(k->store, &row, true, &k->new_pk);
    free(sealed.data);
    mt_secret_free(sk);
    return st;
}

mt_status mt_store_token_rekey(mt_store *store, int64_t token_id, const mt_secret *so_pin,
                               size_t *n_keys)
{
    rekey k = {.store = store, .token_id = token_id};
    char *email = NULL, detail[96];
    int64_t org_id = 0;
    if (!store || !so_pin)
        return mt_fail(MT_ERR_INVALID, "store and SO PIN are required");
    /* the old secret first, outside the transaction: the SO PIN's count stays */
    mt_status st = mt_db_writable(store);
    if (st == MT_OK)
        st = mt_token_secret_with_so(store, token_id, so_pin, &org_id, &email, k.old_pk, &k.old_sk);
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        goto out;
    k.org_id = org_id;
    k.email = email;
    st = replace_key(&k, org_id, email);
    for (int kind = 0; st == MT_OK && kind < 2; kind++)
        st = reseal_kind(&k, kind);
    snprintf(detail, sizeof(detail), "{\"token\":%lld,\"keys\":%zu}", (long long)token_id, k.n_keys);
    if (st == MT_OK)
        st = mt_event_add(store, org_id, "token.rekey", email, detail);
    if ((st = mt_tx_end(store, st)) == MT_OK)
        mt_db_checkpoint(store); /* the old PIN wrapping leaves the log */
    if (st == MT_OK && n_keys)
        *n_keys = k.n_keys;
out:
    mt_secret_free(k.old_sk);
    free(email);
    return st;
}
