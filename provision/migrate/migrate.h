/*
 * `mailtoken migrate`: certificates and keys out of any PKCS#11 token into
 * the store, as accounts with history.
 *
 *   source.c   loads the module, finds the token, logs in, reads the objects
 *   extract.c  takes a private key out (AES key wrap, or plain attributes of
 *              a non-sensitive key) as PKCS#8, checked against its certificate
 *   map.c      --map CSV: which account an object belongs to
 *   plan.c     groups certificates into accounts, picks the primaries, applies
 */
#ifndef MT_MIGRATE_H
#define MT_MIGRATE_H

#include "cli.h"

#include <p11-kit/pkcs11.h>

/* What happened to the private key of one certificate. */
typedef enum mt_mig_key_state {
    MT_MIG_KEY_NONE = 0,       /* no private key object with the certificate's CKA_ID */
    MT_MIG_KEY_EXTRACTABLE,    /* dry run: would be taken out */
    MT_MIG_KEY_EXTRACTED,      /* taken out and matching the certificate */
    MT_MIG_KEY_NOT_EXTRACTABLE /* the token keeps it: reason says why */
} mt_mig_key_state;

typedef struct mt_mig_item {
    mt_cert_info *cert;
    char *cert_label;          /* CKA_LABEL of the certificate object */
    char *key_label;           /* CKA_LABEL of the private key object, or NULL */
    char id_hex[129];          /* CKA_ID, hex ("" when empty) */
    CK_OBJECT_HANDLE key_handle;
    mt_mig_key_state key_state;
    char *key_reason;          /* why not extractable */
    mt_secret *pkcs8;          /* extracted key */
    char *email;               /* account it goes to, or NULL */
    char *error;               /* why it cannot be imported, or NULL */
    int64_t cert_id;           /* after import */
    bool cert_created;
} mt_mig_item;

typedef struct mt_mig_source {
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE session;
    bool initialized;
    bool logged_in;
    char token_label[33];
    char token_serial[17];
    char token_manufacturer[33];
    mt_mig_item *items;
    size_t n_items;
    char **warnings;           /* objects skipped (key without certificate...) */
    size_t n_warnings;
} mt_mig_source;

/* Loads the module, finds the token by label, logs in with pin (may be NULL:
 * public objects only) and reads every X.509 certificate and the private keys
 * that share their CKA_ID.  Errors name the module, token or object. */
mt_status mt_mig_source_open(const char *module_path, const char *token_label,
                             const mt_secret *pin, mt_mig_source *src);
void mt_mig_source_close(mt_mig_source *src);

/* Takes out the key of every item that has one (dry_run: only looks at its
 * attributes).  A key that stays in the token is not an error: its item says
 * why. */
void mt_mig_extract_keys(mt_mig_source *src, bool dry_run);
/* Takes out one private key as PKCS#8; on failure *reason says why (no secret). */
mt_status mt_mig_extract_key(mt_mig_source *src, CK_OBJECT_HANDLE key, mt_secret **pkcs8,
                             char **reason);
/* True when pkcs8 is the private half of the certificate's public key. */
bool mt_mig_key_matches(const mt_secret *pkcs8, const mt_cert_info *cert);

/* --map CSV: lines "OBJECT,EMAIL" where OBJECT is a CKA_LABEL, "id:HEX" or
 * "sha256:FINGERPRINT"; '#' comments and a header line "object,email" are
 * allowed. */
typedef struct mt_mig_map {
    char **objects;
    char **emails;
    size_t n;
} mt_mig_map;

mt_status mt_mig_map_load(const char *path, mt_mig_map *map);
void mt_mig_map_free(mt_mig_map *map);
/* The mapped email of an item, or NULL. */
const char *mt_mig_map_lookup(const mt_mig_map *map, const mt_mig_item *item);

/* Sets each item's email (the map, else the first email the certificate
 * names) or its error. */
void mt_mig_assign_emails(mt_mig_source *src, const mt_mig_map *map);

typedef struct mt_mig_account {
    const char *email;
    bool exists;               /* the account was already in the store */
    size_t *items;             /* indexes into src->items, oldest first */
    size_t n_items;
    size_t primary;            /* index into src->items */
    bool primary_changes;      /* the store's primary will become this one */
    char *error;               /* why the account could not be written */
} mt_mig_account;

typedef struct mt_mig_plan {
    mt_mig_account *accounts;
    size_t n_accounts;
} mt_mig_plan;

/* Groups the items by email (history oldest first; primary: the newest
 * certificate valid now, else the newest) and notes which accounts exist. */
mt_status mt_mig_plan_build(mt_store *store, int64_t org_id, mt_mig_source *src,
                            mt_mig_plan *plan);
/* Writes each account in its own transaction: a failure is recorded in the
 * account and the others still go in.  Running it twice adds nothing twice. */
void mt_mig_plan_apply(mt_store *store, int64_t org_id, mt_mig_source *src, mt_mig_plan *plan);
void mt_mig_plan_free(mt_mig_plan *plan);

#endif
