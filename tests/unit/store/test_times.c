/* Times through the backend: Unix seconds in, the same seconds out, compared
 * and offset alike on either backend.  On a server the column is a
 * timestamptz: what the server itself counts (extract(epoch ...), through a
 * connection of its own) is the instant the store sent. */
#include "support.h"

#include "db.h" /* statements below the API */

#include <stdio.h>

static const int64_t TIMES[] = {
    0,              /* "never": 1970-01-01 */
    -1,             /* 1969-12-31 23:59:59 */
    951782400,      /* 2000-02-29, a leap day */
    1700000000,
    253402300799,   /* 9999-12-31 23:59:59, the last time X.509 writes */
    9000000000000,  /* a year of six digits */
    -62135596800,   /* 0001-01-01, the first day AD */
    -62135596801,   /* the last second of 1 BC */
    -210000000000,  /* 4686 BC */
};

static int64_t event_id(test_env *env)
{
    return test_query_int(env->path, "SELECT min(id) FROM events");
}

static mt_status set_at(test_env *env, int64_t id, int64_t at)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(env->store, "UPDATE events SET at = ? WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, at);
    mt_bind_int64(stmt, 2, id);
    st = mt_db_step_done(env->store, stmt, "setting a time");
    mt_db_done(stmt);
    return st;
}

/* One integer of a one-row statement with ?1 the event and ?2 a number. */
static int64_t query(test_env *env, const char *sql, int64_t id, int64_t n)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    assert_int_equal(mt_db_stmt(env->store, sql, &stmt), MT_OK);
    mt_bind_int64(stmt, 1, id);
    mt_bind_int64(stmt, 2, n);
    assert_int_equal(mt_db_step_row(env->store, stmt, "reading a time", &found), MT_OK);
    assert_true(found);
    int64_t value = mt_col_int64(stmt, 0);
    mt_db_done(stmt);
    return value;
}

static void round_trip(void **state)
{
    test_env *env = *state;
    int64_t id = event_id(env);
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT at FROM events WHERE id = %lld", (long long)id);
    for (size_t i = 0; i < sizeof(TIMES) / sizeof(TIMES[0]); i++) {
        int64_t t = TIMES[i];
        assert_int_equal(set_at(env, id, t), MT_OK);
        assert_int_equal(query(env, "SELECT at FROM events WHERE id = ?1 AND ?2 = ?2", id, 0), t);
        assert_int_equal(test_query_int(env->path, sql), t); /* the server's own count */
        /* compared with a bound time, offset by bound seconds */
        assert_int_equal(query(env, "SELECT count(*) FROM events WHERE id = ?1 AND at > ?2", id, t - 1), 1);
        assert_int_equal(query(env, "SELECT count(*) FROM events WHERE id = ?1 AND at > ?2", id, t), 0);
        assert_int_equal(query(env, "SELECT at + ?2 FROM events WHERE id = ?1", id, 3600), t + 3600);
    }
}

/* Seconds beyond what a server's timestamptz holds are refused, never
 * stored as another time; the row keeps its value. */
static void out_of_range_is_refused(void **state)
{
    test_env *env = *state;
    if (!test_on_server())
        skip(); /* SQLite holds any 64-bit integer */
    int64_t id = event_id(env);
    assert_int_equal(set_at(env, id, 1700000000), MT_OK);
    assert_int_equal(set_at(env, id, INT64_MAX / 1000), MT_ERR_DB);
    mt_clear_error();
    assert_int_equal(set_at(env, id, INT64_MIN / 1000), MT_ERR_DB);
    mt_clear_error();
    assert_int_equal(query(env, "SELECT at FROM events WHERE id = ?1 AND ?2 = ?2", id, 0), 1700000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, test_env_setup, test_env_teardown),
        cmocka_unit_test_setup_teardown(out_of_range_is_refused, test_env_setup, test_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
