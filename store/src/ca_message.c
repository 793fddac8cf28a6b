/* CA poll-queue messages, stored before the CA is told they were received. */
#include "db.h"

#include <stdio.h>

mt_status mt_store_ca_message_save(mt_store *store, int64_t org_id, const char *profile,
                                   const char *message_id, const char *body_json, bool *was_new)
{
    mt_stmt *stmt = NULL;
    char detail[300], escaped[200];
    if (!store)
        return mt_fail(MT_ERR_INVALID, "store is required");
    mt_status st = mt_check_text("profile", profile, 100, true);
    if (st == MT_OK)
        st = mt_check_text("message_id", message_id, 200, true);
    if (st == MT_OK)
        st = mt_check_text("body", body_json, 1024 * 1024, true);
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        return st;
    st = mt_db_stmt(store,
                    "INSERT INTO ca_messages (org_id, profile, message_id, body, received_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    &stmt);
    bool inserted = false;
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, org_id);
        mt_bind_text(stmt, 2, profile);
        mt_bind_text(stmt, 3, message_id);
        mt_bind_text(stmt, 4, body_json);
        mt_bind_int64(stmt, 5, mt_now());
        st = mt_db_step_done(store, stmt, "storing the CA message");
        inserted = st == MT_OK && mt_db_changes(store) > 0;
    }
    mt_db_done(stmt);
    if (st == MT_ERR_CONFLICT)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation %lld not found", (long long)org_id);
    if (st == MT_OK && inserted) {
        mt_json_escape(message_id, escaped, sizeof(escaped));
        snprintf(detail, sizeof(detail), "{\"messageId\":\"%s\"}", escaped);
        st = mt_event_add(store, org_id, "ca.message", profile, detail);
    }
    st = mt_tx_end(store, st);
    if (st == MT_OK && was_new)
        *was_new = inserted;
    return st;
}
