/* The importer's record of the public keys it seals to, kept outside the
 * store (docs/store-format.md, "Which public keys are sealed to"). */
#ifndef MT_STORE_KNOWN_KEYS_H
#define MT_STORE_KNOWN_KEYS_H

#include "db.h"

typedef struct mt_known_keys mt_known_keys;

typedef enum mt_known {
    MT_KNOWN_ABSENT = 0, /* never recorded for this store */
    MT_KNOWN_SAME,       /* recorded with this public key */
    MT_KNOWN_DIFFERENT   /* recorded with another public key: tampered */
} mt_known;

/* config's known_keys_file, else $XDG_DATA_HOME/mailtoken/known-keys, else
 * ~/.local/share/mailtoken/known-keys; *out NULL when there is no home. */
mt_status mt_known_keys_path(const mt_config *config, char **out);
/* What the record says of an organisation's recovery key (is_org) or a
 * token's key, by id, in this store.  Reads the file when first needed, and
 * what others appended since before answering "absent" or "different". */
mt_status mt_known_keys_lookup(mt_store *store, bool is_org, int64_t id, const uint8_t pk[32],
                               mt_known *out);
/* Records a key (the latest record of an id wins): written when the
 * store's transaction commits, at once when none is open. */
mt_status mt_known_keys_record(mt_store *store, bool is_org, int64_t id, const uint8_t pk[32],
                               const char *label);
/* The end of the outermost transaction: pending records written or dropped. */
void mt_known_keys_end(mt_store *store, bool committed);
void mt_known_keys_free(mt_known_keys *known);

#endif
