/* Summary counts, for one organisation or (org_id 0) the whole store. */
#include "db.h"

#include <string.h>

static const char *const STATS_SQL =
    "SELECT"
    " (SELECT count(*) FROM organizations WHERE ?1 = 0 OR id = ?1),"
    " (SELECT count(*) FROM accounts WHERE ?1 = 0 OR org_id = ?1),"
    " (SELECT count(*) FROM accounts a JOIN certificates c ON c.id = a.primary_cert_id"
    "   WHERE c.has_key <> 0 AND (?1 = 0 OR a.org_id = ?1)),"
    " (SELECT count(*) FROM certificates WHERE ?1 = 0 OR org_id = ?1),"
    " (SELECT count(*) FROM certificates WHERE has_key <> 0 AND (?1 = 0 OR org_id = ?1)),"
    " (SELECT count(*) FROM tokens WHERE ?1 = 0 OR org_id = ?1),"
    " (SELECT count(*) FROM renewals WHERE active <> 0 AND (?1 = 0 OR org_id = ?1))";

mt_status mt_store_stats_get(mt_store *store, int64_t org_id, mt_store_stats *out)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    memset(out, 0, sizeof(*out));
    mt_status st = mt_db_stmt(store, STATS_SQL, &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    st = mt_db_step_row(store, stmt, "counting", &found);
    if (st == MT_OK && found) {
        size_t *fields[] = {&out->organizations, &out->accounts, &out->internal_accounts,
                            &out->certificates, &out->certificates_with_key, &out->tokens,
                            &out->pending_renewals};
        for (int i = 0; i < 7; i++)
            *fields[i] = (size_t)mt_col_int64(stmt, i);
    }
    mt_db_done(stmt);
    return st;
}
