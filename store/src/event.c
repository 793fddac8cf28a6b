/* The audit trail: append-only events, listed newest first. */
#include "db.h"

#include <stdlib.h>
#include <string.h>

mt_status mt_event_add(mt_store *store, int64_t org_id, const char *action, const char *subject,
                       const char *detail)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store,
                              "INSERT INTO events (at, org_id, actor, action, subject, detail) "
                              "VALUES (?, ?, ?, ?, ?, ?)",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, mt_now());
    mt_bind_int64(stmt, 2, org_id);
    mt_bind_text(stmt, 3, store->actor);
    mt_bind_text(stmt, 4, action);
    mt_bind_text(stmt, 5, subject ? subject : "");
    mt_bind_text(stmt, 6, detail ? detail : "{}");
    st = mt_db_step_done(store, stmt, "recording an audit event");
    mt_db_done(stmt);
    return st;
}

static void event_clear(mt_event *event)
{
    free(event->actor);
    free(event->action);
    free(event->subject);
    free(event->detail);
}

void mt_event_list_free(mt_event *events, size_t n)
{
    for (size_t i = 0; events && i < n; i++)
        event_clear(&events[i]);
    free(events);
}

/* Filters are bound as NULL when unused, so one statement serves every query. */
#define EVENT_FILTER                                                                         \
    "WHERE (?1 = 0 OR org_id = ?1) AND (?2 IS NULL OR substr(action, 1, length(?2)) = ?2) " \
    "AND (?3 IS NULL OR subject = ?3) AND at >= ?4"
static const char *const LIST_SQL =
    "SELECT id, at, org_id, actor, action, subject, detail FROM events " EVENT_FILTER
    " ORDER BY id DESC LIMIT ?5 OFFSET ?6";
static const char *const COUNT_SQL = "SELECT count(*) FROM events " EVENT_FILTER;

static void bind_filter(mt_stmt *stmt, const mt_event_query *query)
{
    mt_bind_int64(stmt, 1, query->org_id);
    mt_bind_text_or_null(stmt, 2, query->action);
    mt_bind_text_or_null(stmt, 3, query->subject);
    mt_bind_int64(stmt, 4, query->since);
}

mt_status mt_store_event_count(mt_store *store, const mt_event_query *query, size_t *total)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    if (!store || !query || !total)
        return mt_fail(MT_ERR_INVALID, "store, query and total are required");
    mt_status st = mt_db_stmt(store, COUNT_SQL, &stmt);
    if (st != MT_OK)
        return st;
    bind_filter(stmt, query);
    st = mt_db_step_row(store, stmt, "counting events", &found);
    *total = found ? (size_t)mt_col_int64(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_event_list(mt_store *store, const mt_event_query *query, mt_event **out,
                              size_t *n)
{
    mt_stmt *stmt = NULL;
    mt_event *events = NULL;
    size_t count = 0, cap = 0;
    int rc;
    if (!store || !query || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, query, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = mt_db_stmt(store, LIST_SQL, &stmt);
    if (st != MT_OK)
        return st;
    bind_filter(stmt, query);
    mt_bind_int64(stmt, 5, query->limit ? (int64_t)query->limit : INT64_MAX); /* no limit */
    mt_bind_int64(stmt, 6, (int64_t)query->offset);
    while ((rc = mt_step(stmt)) == MT_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            mt_event *grown = realloc(events, ncap * sizeof(*grown));
            if (!grown) {
                st = mt_fail(MT_ERR_NOMEM, "out of memory");
                goto out;
            }
            events = grown;
            cap = ncap;
        }
        mt_event *e = &events[count++];
        e->id = mt_col_int64(stmt, 0);
        e->at = mt_col_int64(stmt, 1);
        e->org_id = mt_col_int64(stmt, 2);
        e->actor = mt_col_text(stmt, 3);
        e->action = mt_col_text(stmt, 4);
        e->subject = mt_col_text(stmt, 5);
        e->detail = mt_col_text(stmt, 6);
    }
    if (rc != MT_DONE)
        st = mt_db_error(store, rc, "listing events");
out:
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_event_list_free(events, count);
        return st;
    }
    *out = events;
    *n = count;
    return MT_OK;
}
