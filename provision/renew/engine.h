/* The renewal engine: carries a persistent renewal from key to primary. */
#ifndef MT_RENEW_ENGINE_H
#define MT_RENEW_ENGINE_H

#include <stdbool.h>

#include "mailtoken/store.h"

typedef struct mt_renew_opts {
    long wait_seconds;  /* keep going (sleeping until next_attempt_at) up to this long */
    bool now;           /* the first step ignores next_attempt_at */
} mt_renew_opts;

/* Runs renewal_id as far as it can go now.  Each step is persisted before
 * the network call that depends on it.  *auth_failed: the CA refused the
 * profile's credentials (the caller stops the profile's other renewals).
 * Returns a store error only; CA outcomes end up in the renewal's state. */
mt_status mt_renew_run(mt_store *store, const mt_config *config, int64_t renewal_id,
                       const mt_renew_opts *opts, bool *auth_failed);

/* Exponential back-off with jitter: a delay in [d/2, d], d = min(cap, base * 2^n). */
double mt_renew_backoff(double base, double cap, unsigned n);

#endif
