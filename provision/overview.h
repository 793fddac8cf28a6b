/* What `mailtoken status` reports (and the API's GET status): counts,
 * certificates expiring soon, renewals under way, the latest audit event. */
#ifndef MT_OVERVIEW_H
#define MT_OVERVIEW_H

#include <jansson.h>

#include "mailtoken/store.h"

typedef struct mt_overview {
    mt_org *org;
    mt_store_stats stats;
    long long days; /* "expiring soon": within this many days (set by the caller) */
    mt_cert **expiring;
    size_t n_expiring, total_expiring;
    mt_renewal **renewals;
    size_t n_renewals;
    mt_event *last_event; /* the organisation's latest */
    size_t n_events;
} mt_overview;

/* org_name NULL: the only organisation. */
mt_status mt_overview_gather(mt_store *store, const char *org_name, mt_overview *d);
/* `status --json` (schema in mailtoken(1)). */
json_t *mt_overview_json(mt_store *store, const mt_overview *d);
void mt_overview_clear(mt_overview *d);

#endif
