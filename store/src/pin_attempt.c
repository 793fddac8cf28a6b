/* PIN attempts, counted before the PIN is checked (docs/store-format.md,
 * "PIN attempts"), so that parallel guesses can never pass the limit:
 *
 *   begin  one write transaction: refused (and recorded) when the counter is
 *          at its limit, else the counter goes up;
 *   check  Argon2id by the caller, with no transaction and no lock held;
 *   end    right PIN: the counter back to 0; wrong PIN: an audit event, and a
 *          second one when this attempt was the one that locks; anything else
 *          (no PIN was judged): the attempt is given back.
 *
 * User PINs count on their token, SO PINs on their organisation, where each
 * wrong SO PIN also makes the next one wait longer before it is checked (the
 * wait follows wrong PINs only: SO operations running side by side with the
 * right PIN do not wait for each other). */
#include "pin_attempt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* What differs between the two counters: their table's columns. */
typedef struct counter_sql {
    const char *read;     /* failed, max, org id, subject, next attempt time */
    const char *count;    /* the counter up unless at its limit, returning what read does:
                           * one statement, so that attempts on several connections
                           * (hosts) can never pass the limit together */
    const char *reset;    /* ?2: no time (0), bound: a time column's type is the backend's */
    const char *give_back;
    const char *wait;     /* after a wrong PIN: ?2 now, ?3 the wait (NULL: none) */
    const char *failed_action, *locked_action, *refused_action;
} counter_sql;

static const counter_sql counters[] = {
    [MT_ATTEMPT_USER] = {
        "SELECT failed_logins, max_failures, org_id, email, 0 FROM tokens WHERE id = ?",
        "UPDATE tokens SET failed_logins = failed_logins + 1"
        " WHERE id = ? AND (max_failures = 0 OR failed_logins < max_failures)"
        " RETURNING failed_logins, max_failures, org_id, email, 0",
        "UPDATE tokens SET failed_logins = 0 WHERE id = ? AND failed_logins > 0",
        "UPDATE tokens SET failed_logins = failed_logins - 1 WHERE id = ? AND failed_logins > 0",
        NULL,
        "token.login-failed", "token.locked", "token.login-refused",
    },
    [MT_ATTEMPT_SO] = {
        "SELECT so_failed_logins, so_max_failures, id, name, so_next_attempt_at"
        " FROM organizations WHERE id = ?",
        "UPDATE organizations SET so_failed_logins = so_failed_logins + 1"
        " WHERE id = ? AND (so_max_failures = 0 OR so_failed_logins < so_max_failures)"
        " RETURNING so_failed_logins, so_max_failures, id, name, so_next_attempt_at",
        "UPDATE organizations SET so_failed_logins = 0, so_next_attempt_at = ?2"
        " WHERE id = ?1 AND (so_failed_logins > 0 OR so_next_attempt_at > ?2)",
        "UPDATE organizations SET so_failed_logins = so_failed_logins - 1"
        " WHERE id = ? AND so_failed_logins > 0",
        "UPDATE organizations SET so_next_attempt_at ="
        " CASE WHEN so_next_attempt_at > ?2 THEN so_next_attempt_at ELSE ?2 END + ?3 WHERE id = ?1",
        "org.so-login-failed", "org.so-locked", "org.so-login-refused",
    },
};

/* Seconds the next SO PIN waits after the n-th wrong one in a row: 1, 2, 4...
 * up to the configured maximum. */
static int64_t so_delay(const mt_store *store, unsigned n)
{
    int64_t cap = store->config.so_pin_max_delay;
    if (n == 0 || cap == 0)
        return 0;
    int64_t delay = n > 20 ? cap : (int64_t)1 << (n - 1);
    return delay < cap ? delay : cap;
}

static mt_status record(mt_store *cs, const mt_attempt *a, const char *action)
{
    char detail[128];
    if (a->kind == MT_ATTEMPT_USER)
        snprintf(detail, sizeof(detail), "{\"token\":%lld,\"failedLogins\":%u,\"maxFailures\":%u}",
                 (long long)a->id, a->failed, a->max);
    else
        snprintf(detail, sizeof(detail), "{\"failedLogins\":%u,\"maxFailures\":%u}", a->failed, a->max);
    return mt_event_add(cs, a->org_id, action, a->subject, detail);
}

/* A counter statement: ?1 the id, then (when the statement has them) ?2 a and ?3 b. */
static mt_status run_on(mt_store *cs, const char *sql, int64_t id, int64_t a, int64_t b, const char *what)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(cs, sql, &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, id);
    if (mt_bind_count(stmt) >= 2)
        mt_bind_int64(stmt, 2, a);
    if (mt_bind_count(stmt) >= 3)
        mt_bind_int64(stmt, 3, b);
    st = mt_db_step_done(cs, stmt, what);
    mt_db_done(stmt);
    return st;
}

/* Counts the attempt (q->count), or only reads the counter (q->read, a row
 * that must exist); *found: the statement returned the row. */
static mt_status read_counter(mt_store *cs, const counter_sql *q, bool counting, mt_attempt *a,
                              int64_t *next_at, bool *found)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(cs, counting ? q->count : q->read, &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, a->id);
    st = mt_db_step_row(cs, stmt, counting ? "counting the attempt" : "reading the PIN counter", found);
    if (st == MT_OK && !*found && !counting)
        st = mt_fail(MT_ERR_NOT_FOUND, "%s %lld not found",
                     a->kind == MT_ATTEMPT_USER ? "token" : "organisation", (long long)a->id);
    if (st == MT_OK && *found) {
        a->failed = (unsigned)mt_col_int(stmt, 0);
        a->max = (unsigned)mt_col_int(stmt, 1);
        a->org_id = mt_col_int64(stmt, 2);
        snprintf(a->subject, sizeof(a->subject), "%s", (const char *)mt_col_peek_text(stmt, 3));
        *next_at = mt_col_int64(stmt, 4);
    }
    mt_db_done(stmt);
    return st;
}

/* The begin transaction.  *locked: refused and recorded; *wait: seconds this
 * SO attempt waits, after earlier wrong ones, before it is checked. */
static mt_status count(mt_store *cs, mt_attempt *a, bool *locked, int64_t *wait)
{
    const counter_sql *q = &counters[a->kind];
    int64_t next_at = 0, now = mt_now();
    bool counted = false, exists = false;
    mt_status st = mt_db_counter_begin(cs);
    if (st != MT_OK)
        return st;
    st = read_counter(cs, q, true, a, &next_at, &counted);
    if (st == MT_OK && !counted) /* at its limit, or no such row */
        st = read_counter(cs, q, false, a, &next_at, &exists);
    *locked = st == MT_OK && !counted;
    if (*locked)
        st = record(cs, a, q->refused_action);
    else if (st == MT_OK)
        *wait = next_at > now ? next_at - now : 0;
    return mt_db_counter_end(cs, st);
}

static void wait_seconds(int64_t seconds)
{
    struct timespec left = {.tv_sec = (time_t)seconds};
    while (seconds > 0 && nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static mt_status locked_error(const mt_attempt *a)
{
    if (a->kind == MT_ATTEMPT_USER)
        return mt_fail(MT_ERR_PIN_LOCKED, "%s: PIN locked after %u failed logins (the SO can reset it)",
                       a->subject, a->failed);
    return mt_fail(MT_ERR_PIN_LOCKED,
                   "SO PIN of \"%s\" locked after %u failed attempts (unlock it with the "
                   "recovery key file: mailtoken org unlock-so)", a->subject, a->failed);
}

mt_status mt_attempt_begin(mt_store *store, mt_attempt_kind kind, int64_t id, mt_attempt *a)
{
    mt_store *cs = NULL;
    bool locked = false;
    int64_t wait = 0;
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->id = id;
    mt_status st = mt_db_counter(store, &cs);
    if (st == MT_OK)
        st = count(cs, a, &locked, &wait);
    if (st == MT_OK && locked)
        return locked_error(a);
    bool unrecorded = st == MT_ERR_READONLY || st == MT_ERR_IO || st == MT_ERR_BUSY || st == MT_ERR_DB;
    if (unrecorded && store->config.pin_counter_best_effort) {
        mt_clear_error(); /* the old behaviour, chosen in the config: checked, not counted */
        return MT_OK;
    }
    if (unrecorded)
        return mt_fail_prefix(st, "cannot count the login attempt (refused: pin_counter = required): ");
    if (st != MT_OK)
        return st;
    a->counted = true;
    wait_seconds(wait);
    return MT_OK;
}

mt_status mt_attempt_end(mt_store *store, mt_attempt *a, mt_status result)
{
    const counter_sql *q = &counters[a->kind];
    mt_store *cs = NULL;
    char message[1024];
    if (!a->counted)
        return result;
    snprintf(message, sizeof(message), "%s", mt_errmsg());
    mt_status st = mt_db_counter(store, &cs);
    if (st == MT_OK && result == MT_OK) {
        st = run_on(cs, q->reset, a->id, 0, 0, "resetting the PIN counter");
    } else if (st == MT_OK && result == MT_ERR_PIN_INCORRECT) {
        if ((st = mt_db_counter_begin(cs)) == MT_OK) {
            st = record(cs, a, q->failed_action);
            if (st == MT_OK && a->max && a->failed >= a->max)
                st = record(cs, a, q->locked_action);
            if (st == MT_OK && q->wait)
                st = run_on(cs, q->wait, a->id, mt_now(), so_delay(store, a->failed), "setting the wait");
            st = mt_db_counter_end(cs, st);
        }
    } else if (st == MT_OK) {
        st = run_on(cs, q->give_back, a->id, 0, 0, "giving the attempt back");
    }
    a->counted = false;
    /* the outcome of the PIN stands: a failed write here only loses an event or
     * leaves the attempt counted, the safe side */
    (void)st;
    if (result != MT_OK)
        return mt_fail(result, "%s", message);
    mt_clear_error();
    return MT_OK;
}
