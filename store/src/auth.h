/* Which public keys the store seals to (docs/store-format.md, "Which public
 * keys are sealed to"): crypto_box_seal is anonymous, so whoever can write
 * the store could put their own key in a token row and read every key
 * imported next.  Nothing is sealed to a key before it is authenticated:
 *
 *   - with a store key file, by its tag: keyed BLAKE2b, under a MAC key
 *     derived from the store key, of ("token", org id, token id, email,
 *     public key) or ("org", org id, name, recovery public key);
 *   - otherwise (no store key, or a row from before it), by the importer's
 *     record outside the store (known_keys.c): a key met for the first time
 *     is trusted and recorded, unless the config says strict.
 *
 * A key that fails is "store tampered" (mt_tampered: an audit event that
 * outlives the import's rollback). */
#ifndef MT_STORE_AUTH_H
#define MT_STORE_AUTH_H

#include "db.h"
#include "seal.h"

#define MT_AUTH_TAG_LEN 32

/* A row's public key as stored, with its tag (tag NULL: untagged). */
typedef struct mt_key_row {
    bool is_org;              /* an organisation's recovery key, else a token's key */
    int64_t org_id;
    int64_t id;               /* the token's id (tokens only) */
    const char *name;         /* the organisation's name or the token's email */
    uint8_t pk[MT_SEAL_PK_LEN];
    const uint8_t *tag;
    size_t tag_len;
} mt_key_row;

/* The MAC key: BLAKE2b keyed with the store key, personalised for tags, so
 * that it is never the key that mixes into PIN keys. */
mt_status mt_auth_mac_key(const mt_secret *store_key, mt_secret **out);
/* The row's tag (the store must have a store key). */
void mt_auth_tag(const mt_store *store, const mt_key_row *row, uint8_t tag[MT_AUTH_TAG_LEN]);
/* Authenticates a key before something is sealed to it, inside the caller's
 * write transaction.  created: this transaction made the row (its key comes
 * from this process: recorded, never "first seen").  A key trusted on first
 * use is recorded, and tagged when there is a store key. */
mt_status mt_auth_key(mt_store *store, const mt_key_row *row, bool created, mt_trusted_pk *out);
/* When a key is used without sealing (a login, the recovery key opening a
 * token secret): its tag is checked when there is a store key and a tag. */
mt_status mt_auth_tag_check(mt_store *store, const mt_key_row *row);
/* What mt_auth_key would say, without recording or tagging anything
 * (`org verify`): MT_OK, or MT_ERR_TAMPERED with the message only (no event). */
typedef enum mt_auth_state {
    MT_AUTH_TAGGED,          /* its tag verifies */
    MT_AUTH_KNOWN,           /* untagged (or no store key), in the importer's record */
    MT_AUTH_UNKNOWN,         /* untagged (or no store key), not in the record */
    MT_AUTH_BAD_TAG,         /* its tag does not verify */
    MT_AUTH_KNOWN_OTHER      /* the record has another key for it */
} mt_auth_state;
mt_status mt_auth_state_of(mt_store *store, const mt_key_row *row, mt_auth_state *out);
/* Writes a row's tag (nothing without a store key). */
mt_status mt_auth_write_tag(mt_store *store, const mt_key_row *row);
/* Writes a row's tag (store key) and records its key (`org rewrap`, `account
 * rekey`: keys the SO PIN vouched for). */
mt_status mt_auth_adopt(mt_store *store, const mt_key_row *row);
/* At open, with a store key: rows written before it (no tag) are counted in
 * a warning that names the fix (`mailtoken org rewrap`). */
void mt_auth_warn_untagged(mt_store *store);

#endif
