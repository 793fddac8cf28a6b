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
    bool salt_ok;           /* the row's salt had exactly MT_SEAL_SALT_LEN bytes */
} mt_pin_row;

/* Whose PIN: the two have their own Argon2id limits in the config. */
typedef enum mt_pin_kind { MT_PIN_USER = 0, MT_PIN_SO } mt_pin_kind;

/* A token's sealed copy of a certificate's key, kept or replaced:
 * ?1 cert id, ?2 token id, ?3 the sealed key. */
#define MT_SEALED_KEY_UPSERT                                                                \
    "INSERT INTO sealed_keys (cert_id, token_id, sealed) VALUES (?, ?, ?)"                  \
    " ON CONFLICT (cert_id, token_id) DO UPDATE SET sealed = excluded.sealed"

void mt_pin_row_clear(mt_pin_row *row);
/* Wraps plaintext under a fresh salt and the configured limits. */
mt_status mt_pin_row_wrap(mt_store *store, mt_pin_kind kind, const mt_secret *pin,
                          const mt_secret *plaintext, const char *ad, mt_pin_row *out);
/* Before a row's PIN is counted or checked: a salt that is not 16 bytes or
 * limits outside the window (kdf_window.c) make a corrupt row, refused as
 * tampered (naming `what`, e.g. "the PIN of token 3"), and no PIN is judged. */
mt_status mt_pin_row_check(mt_store *store, const mt_pin_row *row, int64_t org_id,
                           const char *subject, const char *what);
/* MT_ERR_PIN_INCORRECT on a wrong PIN; a clear error when the row needs the
 * store key file and none is configured. */
mt_status mt_pin_row_unwrap(mt_store *store, const mt_pin_row *row, const mt_secret *pin,
                            const char *ad, mt_secret **plaintext);
/* Reads the wrapped value, salt, limits and store-key flag at columns col.. col+4. */
void mt_pin_row_read(mt_stmt *stmt, int col, mt_pin_row *out);
/* Runs an UPDATE storing a new wrapping; its parameters are, in order: the
 * wrapped value, salt, ops, mem, store-key flag, the failure limit,
 * updated_at (now) and the row's id. */
mt_status mt_pin_row_update(mt_store *store, const char *sql, const mt_pin_row *row,
                            unsigned max_failures, int64_t id, const char *what);

/* A row to wrap again after its PIN was found right (at login, at SO use):
 * its limits are not the configured ones, or a store key is configured and
 * was not mixed in. */
typedef struct mt_pin_rewrap {
    mt_pin_kind kind;
    const mt_pin_row *row;  /* as read: written over only if the row still holds it */
    const char *ad;
    const char *sql;        /* UPDATE ... SET wrapped ?1, salt ?2, ops ?3, mem ?4,
                               store key ?5 WHERE id ?6 AND wrapped = ?7 */
    int64_t id, org_id;
    const char *subject;    /* the event's */
    const char *action;     /* "token.rewrap", "org.so-rewrap" */
} mt_pin_rewrap;
bool mt_pin_row_stale(const mt_store *store, mt_pin_kind kind, const mt_pin_row *row);
/* Wraps again with the PIN just checked and writes it on the PIN counter's
 * connection (a read-only store has one), with an audit event; best effort:
 * a login never fails for it.  Checkpoints the log so the old wrapping goes. */
void mt_pin_row_rewrap(mt_store *store, const mt_pin_rewrap *r, const mt_secret *pin,
                       const mt_secret *plaintext);

/* The organisation's recovery secret: with the SO PIN, or (so_pin NULL) from
 * the configured recovery key file (gateway mode).  The recovery key's tag
 * is checked first, and the secret the SO PIN opens must match the public
 * key (else MT_ERR_TAMPERED). */
mt_status mt_org_recovery_open(mt_store *store, int64_t org_id, const mt_secret *so_pin,
                               uint8_t pk[MT_SEAL_PK_LEN], mt_secret **sk);
/* The organisation's recovery public key, authenticated (auth.h) for sealing. */
mt_status mt_org_trusted_pk(mt_store *store, int64_t org_id, mt_trusted_pk *out);

/* The token of (org, email), created with its key pair when missing; its
 * public key authenticated (auth.h) before anything is sealed to it. */
mt_status mt_token_ensure(mt_store *store, int64_t org_id, const char *email, int64_t *token_id,
                          mt_trusted_pk *pk);
/* The token secret through the recovery key with the SO PIN, checked as for a
 * PIN reset (its tag, the recovery key, the secret against the public key). */
mt_status mt_token_secret_with_so(mt_store *store, int64_t token_id, const mt_secret *so_pin,
                                  int64_t *org_id, char **email, uint8_t pk[MT_SEAL_PK_LEN],
                                  mt_secret **sk);
/* Seals a PKCS#8 key to a token and stores it for the certificate. */
mt_status mt_token_store_key(mt_store *store, int64_t token_id, const mt_trusted_pk *pk,
                             int64_t cert_id, const uint8_t spki_sha256[32],
                             const mt_secret *pkcs8);

/* Opens a sealed key with a token's secret (pk its public half) for the
 * public key spki: the sealed header must name it and the opened key must be
 * its private half, else MT_ERR_CRYPTO saying which (key_open.c). */
mt_status mt_key_open_checked(const uint8_t pk[MT_SEAL_PK_LEN], const mt_secret *token_secret,
                              const uint8_t *spki, size_t spki_len, const mt_blob *sealed,
                              mt_secret **pkcs8);
/* The same for certificate cert_id of organisation org_id; a key that fails
 * the check is "store tampered" (mt_tampered). */
mt_status mt_key_open_reported(mt_store *store, const uint8_t pk[MT_SEAL_PK_LEN],
                               const mt_secret *token_secret, int64_t cert_id, int64_t org_id,
                               const uint8_t *spki, size_t spki_len, const mt_blob *sealed,
                               mt_secret **pkcs8);
/* The public half of a token secret (MT_ERR_INVALID: not a token secret). */
mt_status mt_token_secret_pk(const mt_secret *token_secret, uint8_t pk[MT_SEAL_PK_LEN]);

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
