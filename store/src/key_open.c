/* Opening a sealed private key for the certificate it is used with.  The
 * sealed header names the SHA-256 of a SubjectPublicKeyInfo, compared with
 * the certificate's own public key (never with a column a writer could
 * edit), and the opened key's public half must be that key too: a sealed
 * blob moved to another certificate, or made by someone else for this one,
 * is refused as tampered. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

typedef struct sealed_row {
    int64_t org_id;
    mt_blob sealed;
    mt_cert_info *cert;
} sealed_row;

static void sealed_row_clear(sealed_row *r)
{
    free(r->sealed.data);
    mt_cert_info_free(r->cert);
    memset(r, 0, sizeof(*r));
}

/* The sealed key this token holds for the certificate, and the certificate. */
static mt_status read_sealed(mt_store *store, const uint8_t pk[MT_SEAL_PK_LEN], int64_t cert_id,
                             sealed_row *r)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store,
                              "SELECT s.sealed, c.der, c.org_id FROM certificates c"
                              " LEFT JOIN tokens t ON t.public_key = ?2 AND t.org_id = c.org_id"
                              " LEFT JOIN sealed_keys s ON s.cert_id = c.id AND s.token_id = t.id"
                              " WHERE c.id = ?1",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, cert_id);
    mt_bind_blob(stmt, 2, pk, MT_SEAL_PK_LEN);
    if ((st = mt_db_step_row(store, stmt, "reading the sealed key", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "certificate %lld not found", (long long)cert_id);
    if (st == MT_OK && mt_col_is_null(stmt, 0))
        st = mt_fail(MT_ERR_NOT_FOUND, "certificate %lld has no private key for this token",
                     (long long)cert_id);
    if (st == MT_OK) {
        r->org_id = mt_col_int64(stmt, 2);
        r->sealed.data = mt_col_blob(stmt, 0, &r->sealed.len);
        st = mt_cert_info_from_der(mt_col_peek_blob(stmt, 1), (size_t)mt_col_bytes(stmt, 1),
                                   &r->cert);
    }
    mt_db_done(stmt);
    return st;
}

/* The opened PKCS#8 key's public half is the certificate's public key. */
static bool same_public_key(const mt_secret *pkcs8, const uint8_t *spki, size_t spki_len)
{
    const unsigned char *p = pkcs8->data, *q = spki;
    EVP_PKEY *priv = d2i_AutoPrivateKey(NULL, &p, (long)pkcs8->len);
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &q, (long)spki_len);
    bool same = priv && pub && EVP_PKEY_eq(priv, pub) == 1;
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    return same;
}

mt_status mt_key_open_checked(const uint8_t pk[MT_SEAL_PK_LEN], const mt_secret *token_secret,
                              const uint8_t *spki, size_t spki_len, const mt_blob *sealed,
                              mt_secret **pkcs8)
{
    uint8_t spki_sha256[32];
    crypto_hash_sha256(spki_sha256, spki, spki_len);
    mt_status st = mt_seal_key_open(pk, token_secret, spki_sha256, sealed->data, sealed->len, pkcs8);
    if (st == MT_OK && !same_public_key(*pkcs8, spki, spki_len))
        st = mt_fail(MT_ERR_CRYPTO, "the sealed key is not the private key of its public key");
    if (st != MT_OK) {
        mt_secret_free(*pkcs8);
        *pkcs8 = NULL;
    }
    return st;
}

mt_status mt_key_open_reported(mt_store *store, const uint8_t pk[MT_SEAL_PK_LEN],
                               const mt_secret *token_secret, int64_t cert_id, int64_t org_id,
                               const uint8_t *spki, size_t spki_len, const mt_blob *sealed,
                               mt_secret **pkcs8)
{
    char subject[32];
    mt_status st = mt_key_open_checked(pk, token_secret, spki, spki_len, sealed, pkcs8);
    snprintf(subject, sizeof(subject), "%lld", (long long)cert_id);
    if (st == MT_ERR_CRYPTO && store)
        st = mt_tampered(store, org_id, subject, "the sealed key of certificate %lld: %s",
                         (long long)cert_id, mt_errmsg());
    else if (st == MT_ERR_CRYPTO)
        st = mt_fail(MT_ERR_TAMPERED, "store tampered: the sealed key of certificate %lld: %s",
                     (long long)cert_id, mt_errmsg());
    return st;
}

mt_status mt_token_secret_pk(const mt_secret *token_secret, uint8_t pk[MT_SEAL_PK_LEN])
{
    if (!token_secret || token_secret->len != MT_SEAL_SK_LEN ||
        crypto_scalarmult_base(pk, token_secret->data) != 0)
        return mt_fail(MT_ERR_INVALID, "token secret must be %d bytes", MT_SEAL_SK_LEN);
    return MT_OK;
}

mt_status mt_store_key_open(mt_store *store, const mt_secret *token_secret, int64_t cert_id,
                            mt_secret **pkcs8)
{
    uint8_t pk[MT_SEAL_PK_LEN];
    sealed_row r = {0};
    if (!store || !token_secret || !pkcs8)
        return mt_fail(MT_ERR_INVALID, "store, token secret and out are required");
    *pkcs8 = NULL;
    if (mt_token_secret_pk(token_secret, pk) != MT_OK)
        return MT_ERR_INVALID;
    mt_status st = read_sealed(store, pk, cert_id, &r);
    if (st == MT_OK)
        st = mt_key_open_reported(store, pk, token_secret, cert_id, r.org_id, r.cert->spki,
                                  r.cert->spki_len, &r.sealed, pkcs8);
    sealed_row_clear(&r);
    return st;
}
