/* Internal to libmailtoken-store: PIN attempts, counted before the PIN is checked. */
#ifndef MT_STORE_PIN_ATTEMPT_H
#define MT_STORE_PIN_ATTEMPT_H

#include "db.h"

typedef enum mt_attempt_kind {
    MT_ATTEMPT_USER = 0, /* a token's user PIN */
    MT_ATTEMPT_SO        /* an organisation's SO PIN */
} mt_attempt_kind;

typedef struct mt_attempt {
    mt_attempt_kind kind;
    int64_t id;          /* token or organisation */
    int64_t org_id;
    char subject[320];   /* email or organisation name, for the audit events */
    unsigned failed;     /* the counter, this attempt included */
    unsigned max;        /* 0: never locks */
    bool counted;        /* false: nothing to end (pin_counter = best-effort could not write) */
} mt_attempt;

/* Counts an attempt before its PIN is checked: MT_ERR_PIN_LOCKED (recorded in
 * the audit trail) when the counter is at its limit.  An SO attempt then
 * waits out the delay the earlier wrong SO PINs set (sleeping).  When the attempt cannot
 * be written (a store file this user cannot write): refused with that error,
 * unless the config says pin_counter = best-effort.  Never inside a
 * transaction of the caller's. */
mt_status mt_attempt_begin(mt_store *store, mt_attempt_kind kind, int64_t id, mt_attempt *attempt);
/* Ends an attempt with the outcome of its PIN check and returns `result` (its
 * error message kept): MT_OK resets the counter, MT_ERR_PIN_INCORRECT records
 * the failure (and the lock when it was the last try), anything else gives
 * the attempt back (no PIN was judged). */
mt_status mt_attempt_end(mt_store *store, mt_attempt *attempt, mt_status result);

#endif
