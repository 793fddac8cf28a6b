/* Internal key handling shared by organisations, tokens, certificates and renewals. */
#ifndef MT_STORE_KEYS_H
#define MT_STORE_KEYS_H

#include "db.h"
#include "seal.h"

/* A PIN-wrapped value as stored in a row: wrapping, KDF salt and limits, and
 * whether the store key file was mixed in. */
typedef struct mt_pin_row {
    mt_blob wrapped;
    mt_kdf_params kdf;
    bool store_key;
} mt_pin_row;

void mt_pin_row_clear(mt_pin_row *row);
/* Wraps plaintext under a fresh salt and the configured limits. */
mt_status mt_pin_row_wrap(mt_store *store, const mt_secret *pin, const mt_secret *plaintext,
                          const char *ad, mt_pin_row *out);
/* MT_ERR_PIN_INCORRECT on a wrong PIN; a clear error when the row needs the
 * store key file and none is configured. */
mt_status mt_pin_row_unwrap(mt_store *store, const mt_pin_row *row, const mt_secret *pin,
                            const char *ad, mt_secret **plaintext);
/* Reads the wrapped value, salt, limits and store-key flag at columns col.. col+4. */
void mt_pin_row_read(sqlite3_stmt *stmt, int col, mt_pin_row *out);
/* Runs an UPDATE storing a new wrapping; its parameters are, in order: the
 * wrapped value, salt, ops, mem, store-key flag, the failure limit,
 * updated_at (now) and the row's id. */
mt_status mt_pin_row_update(mt_store *store, const char *sql, const mt_pin_row *row,
                            unsigned max_failures, int64_t id, const char *what);

/* The organisation's recovery secret: with the SO PIN, or (so_pin NULL) from
 * the configured recovery key file (gateway mode). */
mt_status mt_org_recovery_open(mt_store *store, int64_t org_id, const mt_secret *so_pin,
                               uint8_t pk[MT_SEAL_PK_LEN], mt_secret **sk);

/* The token of (org, email), created with its key pair when missing. */
mt_status mt_token_ensure(mt_store *store, int64_t org_id, const char *email, int64_t *token_id,
                          uint8_t pk[MT_SEAL_PK_LEN]);
/* Seals a PKCS#8 key to a token and stores it for the certificate. */
mt_status mt_token_store_key(mt_store *store, int64_t token_id, const uint8_t pk[MT_SEAL_PK_LEN],
                             int64_t cert_id, const uint8_t spki_sha256[32],
                             const mt_secret *pkcs8);

/* Deletes a certificate no account uses (MT_ERR_CONFLICT otherwise), with its event. */
mt_status mt_cert_delete_row(mt_store *store, int64_t cert_id);

/* Certificate ids of an account's history, oldest first (malloc'd). */
mt_status mt_account_history(mt_store *store, int64_t account_id, int64_t **out, size_t *n);

/* Inserts a certificate row with its emails (none for an authority: a CA
 * certificate belongs to no account) and chain, and its audit event (the
 * key, if any, is stored by the caller). */
mt_status mt_cert_insert(mt_store *store, int64_t org_id, const mt_cert_info *info, bool has_key,
                         bool authority, const char *friendly_name, const char *description,
                         const mt_blob *chain, size_t n_chain, int64_t *cert_id);
/* Id (0 when absent) and key presence of a certificate by fingerprint. */
mt_status mt_cert_find_by_sha256(mt_store *store, int64_t org_id, const uint8_t sha256[32],
                                 int64_t *cert_id, bool *has_key);

#endif
