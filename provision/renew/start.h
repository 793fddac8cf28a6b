/* Starting a renewal and describing one: shared by `mailtoken renew` and the
 * API's POST email-accounts/{email}/renew. */
#ifndef MT_RENEW_START_H
#define MT_RENEW_START_H

#include <jansson.h>
#include <stdbool.h>

#include "mailtoken/store.h"

/* What a renewal is asked for (the `renew` options). */
typedef struct mt_renew_args {
    const char *ca, *key, *order; /* NULL: the defaults `renew --help` names */
    bool revoke_old, now, all;
    long long expiring, wait;
} mt_renew_args;

/* Creates the account's renewal (CA profile, key and Sectigo order chosen
 * as `renew` chooses them); MT_ERR_CONFLICT when one is already under way.
 * Errors are reported through mt_cli_errmsg(). */
mt_status mt_renew_start(mt_store *store, int64_t org_id, const char *email,
                         const mt_renew_args *a, int64_t *id);
/* A renewal as `renew --json` shows it. */
json_t *mt_renewal_json(const mt_renewal *r);

#endif
