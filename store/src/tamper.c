/* Rows that fail their authentication, and audit events that outlive the
 * transaction they were found in: an import refused because a key was
 * swapped rolls back, but the administrator must still see why. */
#include "db.h"
#include "known_keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mt_event_row {
    int64_t org_id;
    char *action, *subject, *detail;
} mt_event_row;

/* One event in a transaction of its own, on the connection PIN attempts use. */
static void write_now(mt_store *store, const mt_event_row *e)
{
    mt_store *cs = NULL;
    if (mt_db_counter(store, &cs) != MT_OK || mt_db_counter_begin(cs) != MT_OK)
        return;
    mt_db_counter_end(cs, mt_event_add(cs, e->org_id, e->action, e->subject, e->detail));
}

static void event_row_clear(mt_event_row *e)
{
    free(e->action);
    free(e->subject);
    free(e->detail);
}

void mt_event_outside(mt_store *store, int64_t org_id, const char *action, const char *subject,
                      const char *detail)
{
    char saved[1024];
    snprintf(saved, sizeof(saved), "%s", mt_errmsg()); /* the caller's failure stays its message */
    mt_event_row e = {org_id, mt_strdup(action), mt_strdup(subject ? subject : ""),
                      mt_strdup(detail ? detail : "{}")};
    if (!e.action || !e.subject || !e.detail) {
        event_row_clear(&e);
    } else if (store->tx_depth == 0) {
        write_now(store, &e);
        event_row_clear(&e);
    } else {
        mt_event_row *grown = realloc(store->deferred, (store->n_deferred + 1) * sizeof(*grown));
        if (grown) {
            store->deferred = grown;
            store->deferred[store->n_deferred++] = e;
        } else {
            event_row_clear(&e);
        }
    }
    mt_fail(MT_OK, "%s", saved);
}

void mt_tx_finished(mt_store *store, bool committed)
{
    char saved[1024];
    snprintf(saved, sizeof(saved), "%s", mt_errmsg());
    mt_known_keys_end(store, committed);
    for (size_t i = 0; i < store->n_deferred; i++) {
        write_now(store, &store->deferred[i]);
        event_row_clear(&store->deferred[i]);
    }
    free(store->deferred);
    store->deferred = NULL;
    store->n_deferred = 0;
    mt_fail(MT_OK, "%s", saved);
}

mt_status mt_tampered(mt_store *store, int64_t org_id, const char *subject, const char *fmt, ...)
{
    char what[700], escaped[800], detail[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    mt_fail(MT_ERR_TAMPERED, "store tampered: %s", what);
    mt_json_escape(what, escaped, sizeof(escaped));
    snprintf(detail, sizeof(detail), "{\"reason\":\"%s\"}", escaped);
    mt_event_outside(store, org_id, "store.tampered", subject, detail);
    return MT_ERR_TAMPERED;
}
