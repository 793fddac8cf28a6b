/* The PostgreSQL backend, through libpq: a store location that is a
 * connection URI.  Statements are the store's SQLite-dialect text with its
 * ?/?N parameters numbered $N, prepared on the server at their first run
 * (with the types of the values bound, so that a bigint is never guessed to
 * be an int); results come as text, bytea decoded from its hex form.
 *
 * Times are timestamptz columns on the server and Unix seconds everywhere
 * else, converted here: an integer bound where the server expects a
 * timestamptz is sent as that instant (where it expects an interval, as that
 * many seconds), and a timestamptz column reads as its Unix seconds.
 *
 * Writers take one transaction-scoped advisory lock, so that a store on a
 * server keeps the rules the SQLite store keeps with BEGIN IMMEDIATE: what a
 * writer reads stays true until it commits, whichever host it runs on.
 * Readers (the module) never wait for it; the PIN counters are single
 * UPDATE ... RETURNING statements serialised on their rows.
 *
 * A lost connection is opened again, outside a transaction, at the next
 * statement, with a growing pause between attempts (1 s doubling to 30 s):
 * while the server stays away, a statement fails at once but for one
 * attempt per pause, itself bounded by the connection's timeouts.
 *
 * A store on a standby with a primary for writes (store_primary) holds two
 * connections: every transaction, and every statement that writes, runs on
 * the primary's, opened at the first of them; reads outside a transaction
 * run on the standby's, except that a program reads its own writes: after it
 * wrote on the primary (through any store it opened), its reads go there too
 * until the standby has replayed that write.  Without a primary the one
 * connection does it all. */
#include "db.h"
#include "db_pg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

/* Error codes of this backend (never MT_ROW or MT_DONE). */
enum { PG_ERR = 1, PG_ERR_CONFLICT, PG_ERR_BUSY, PG_ERR_READONLY, PG_ERR_IO, PG_ERR_NOMEM };

#define INT8_OID 20
#define BYTEA_OID 17
#define TEXT_OID 25
#define INT2_OID 21
#define INT4_OID 23
#define TIMESTAMPTZ_OID 1184
#define INTERVAL_OID 1186
/* Unix seconds of the server's timestamp epoch, 2000-01-01 00:00:00 UTC */
#define PG_EPOCH_UNIX 946684800
/* Times print in ISO style and in UTC, the form col_int64 reads. */
#define SESSION_SETUP "SET client_min_messages = warning; SET lock_timeout = '5s';" \
    " SET DateStyle = ISO; SET TimeZone = 'UTC'"
#define WRITER_LOCK "SELECT pg_advisory_xact_lock(7885708549263632747)" /* "mailtoken" */

typedef struct pg_conn {
    PGconn *pg;              /* NULL: not opened yet */
    const char *uri;         /* the store's location, or its primary */
    unsigned epoch;          /* bumped at each reconnection: statements prepare again */
    time_t retry_at;         /* no reconnection attempt before this */
    int retry_pause;
    bool in_tx;              /* a transaction is open on it (BEGIN .. COMMIT/ROLLBACK) */
    bool resetting;          /* a reconnection under way (PQresetStart) */
    int polling;             /* its PostgresPollingStatusType */
    time_t progress_at;      /* when it last moved */
    char errmsg[512];        /* the server's message of the last failure */
} pg_conn;

/* The store's connections: the reader does everything unless the store has a
 * primary (writer.uri), which takes transactions and writes. */
typedef struct pg_conns {
    pg_conn reader, writer;
    pg_conn *last;           /* the one the last statement ran on (its errors, lastval()) */
    bool wrote;              /* the writer's open transaction has written */
    uint64_t replayed;       /* a WAL position the reader is known to have replayed */
    unsigned next_name;
    int64_t changes, total_changes;
    int64_t polled_ms;       /* when the generation row was last read (monotonic) */
    uint_fast64_t commits_seen; /* commits_here then */
} pg_conns;

enum { READER, WRITER }; /* index of a statement's state on each connection */

typedef struct pg_stmt {
    mt_stmt base;
    char *sql;               /* with $N parameters */
    int n_params;
    char **values;
    int *lengths, *formats;
    unsigned *types;         /* Oid of each bound value (0: NULL, or text: the server infers) */
    struct {                 /* as prepared on the reader and on the writer */
        unsigned *types;
        unsigned epoch;
        bool done;
    } prepared[2];
    bool writes;             /* not a SELECT: runs on the primary when there is one */
    char name[24];
    PGresult *res;
    int row, n_rows;
    uint8_t **decoded;       /* bytea columns of the current row, decoded on demand */
    size_t *decoded_len;
    int n_decoded;
} pg_stmt;

#define CONNS(store) ((pg_conns *)(store)->conn)
#define PG(s) ((pg_stmt *)(s))

static mt_status ensure_connected(mt_store *store, pg_conn *c);

/* The primary's WAL position after this process's latest write through a
 * store with a primary: every such store reads on its primary until its
 * standby has replayed that far (the module's PIN change, then its login on
 * another store handle, see the new PIN). */
static _Atomic uint64_t written_lsn;

/* Whether the standby has replayed this process's writes (a server that is
 * not in recovery has all it will get).  On any doubt, no: the primary reads. */
static bool reader_has_our_writes(mt_store *store)
{
    pg_conns *p = CONNS(store);
    uint64_t lsn = atomic_load(&written_lsn);
    char sql[160];
    if (lsn <= p->replayed)
        return true;
    if (ensure_connected(store, &p->reader) != MT_OK) {
        mt_clear_error();
        return false;
    }
    snprintf(sql, sizeof(sql), "SELECT coalesce(pg_last_wal_replay_lsn() >= '%" PRIX64 "/%" PRIX64 "',"
             " NOT pg_is_in_recovery())", lsn >> 32, lsn & 0xffffffffu);
    PGresult *res = PQexec(p->reader.pg, sql);
    bool has = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && *PQgetvalue(res, 0, 0) == 't';
    PQclear(res);
    if (has)
        p->replayed = lsn;
    return has;
}

/* The connection a statement runs on: the one a transaction is open on,
 * else the primary's for a write (when the store has one) or for a read
 * the standby has not caught up with, else the reader's. */
static pg_conn *active(mt_store *store, bool writes)
{
    pg_conns *p = CONNS(store);
    pg_conn *c = &p->reader;
    if (p->writer.uri && !p->reader.in_tx &&
        (p->writer.in_tx || writes || !reader_has_our_writes(store)))
        c = &p->writer;
    p->last = c;
    return c;
}

/* After a statement on c: when it ends a write of ours on the primary (a
 * transaction that wrote, or a write outside one), the primary's WAL
 * position, which the standby must have replayed before it serves our reads. */
static void note_write(mt_store *store, pg_conn *c, bool wrote)
{
    pg_conns *p = CONNS(store);
    if (c != &p->writer)
        return;
    p->wrote |= wrote;
    if (!p->wrote || c->in_tx)
        return;
    p->wrote = false;
    PGresult *res = PQexec(c->pg, "SELECT pg_current_wal_lsn()");
    unsigned hi = UINT32_MAX, lo = UINT32_MAX; /* unknown: the primary reads from now on */
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        sscanf(PQgetvalue(res, 0, 0), "%X/%X", &hi, &lo) != 2)
        hi = lo = UINT32_MAX;
    PQclear(res);
    uint64_t lsn = (uint64_t)hi << 32 | lo, seen = atomic_load(&written_lsn);
    while (lsn > seen && !atomic_compare_exchange_weak(&written_lsn, &seen, lsn))
        ;
}

/* Whether the statement text is a read: a SELECT, or the transaction control
 * that follows the transaction wherever it is open. */
static bool reads_only(const char *sql)
{
    static const char *const words[] = {"SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"};
    while (isspace((unsigned char)*sql))
        sql++;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strncasecmp(sql, words[i], strlen(words[i])) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ errors */

static void keep_message(pg_conn *c, const char *message)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", message && *message ? message : "unknown error");
    size_t n = strlen(c->errmsg);
    while (n > 0 && isspace((unsigned char)c->errmsg[n - 1]))
        c->errmsg[--n] = '\0';
}

/* The error code for a failed result (or NULL: a lost connection). */
static int result_error(pg_conn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    keep_message(c, res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
    /* constraint failures named as SQLite names them: one wording for the
     * rules that tell a duplicate from a missing parent */
    const char *kind = !state ? NULL : !strcmp(state, "23505") ? "UNIQUE constraint failed: "
                     : !strcmp(state, "23503") ? "FOREIGN KEY constraint failed: " : NULL;
    size_t shift = kind ? strlen(kind) : 0;
    if (kind) {
        memmove(c->errmsg + shift, c->errmsg, sizeof(c->errmsg) - shift - 1);
        memcpy(c->errmsg, kind, shift);
        c->errmsg[sizeof(c->errmsg) - 1] = '\0';
    }
    if (PQstatus(c->pg) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0)
        return PG_ERR_IO;
    if (strncmp(state, "23", 2) == 0)
        return PG_ERR_CONFLICT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return PG_ERR_BUSY;
    if (strcmp(state, "25006") == 0 || strcmp(state, "42501") == 0)
        return PG_ERR_READONLY;
    if (strncmp(state, "53", 2) == 0)
        return PG_ERR_NOMEM;
    return PG_ERR;
}

static mt_status pg_error(mt_store *store, int rc, const char *what)
{
    pg_conns *p = CONNS(store);
    const char *detail = p && p->last ? p->last->errmsg : "not connected";
    mt_status st;
    switch (rc) {
    case PG_ERR_CONFLICT: st = MT_ERR_CONFLICT; break;
    case PG_ERR_BUSY: st = MT_ERR_BUSY; break;
    case PG_ERR_READONLY: st = MT_ERR_READONLY; break;
    case PG_ERR_IO: st = MT_ERR_IO; break;
    case PG_ERR_NOMEM: st = MT_ERR_NOMEM; break;
    default: st = MT_ERR_DB; break;
    }
    return mt_fail(st, "%s%s: %s: %s", store->path, p && p->last == &p->writer ? " (its primary)" : "",
                   what, detail);
}

/* ------------------------------------------------------------- connection */

static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message; /* the library prints nothing; failures come as results */
}

/* A server that is down or cut off fails within seconds, not after the
 * minutes of the kernel's TCP defaults: these settings apply unless the URI
 * (or the environment variable named) gives its own. */
static const struct {
    const char *key, *value, *env;
} CONNECTION_DEFAULTS[] = {
    {"connect_timeout", "5", "PGCONNECT_TIMEOUT"},
    {"keepalives", "1", NULL},
    {"keepalives_idle", "5", NULL},
    {"keepalives_interval", "2", NULL},
    {"keepalives_count", "3", NULL},
    {"tcp_user_timeout", "10000", NULL}, /* ms unacknowledged: a query to a vanished host */
};
#define N_DEFAULTS (sizeof(CONNECTION_DEFAULTS) / sizeof(CONNECTION_DEFAULTS[0]))

/* The location comes last, expanded: what it sets wins over the defaults. */
static PGconn *connect_with_defaults(const char *location)
{
    const char *keys[N_DEFAULTS + 2], *values[N_DEFAULTS + 2];
    size_t n = 0;
    for (size_t i = 0; i < N_DEFAULTS; i++) {
        if (CONNECTION_DEFAULTS[i].env && getenv(CONNECTION_DEFAULTS[i].env))
            continue;
        keys[n] = CONNECTION_DEFAULTS[i].key;
        values[n++] = CONNECTION_DEFAULTS[i].value;
    }
    keys[n] = "dbname";
    values[n++] = location;
    keys[n] = values[n] = NULL;
    return PQconnectdbParams(keys, values, 1);
}

static mt_status open_connection(mt_store *store, pg_conn *c)
{
    c->pg = connect_with_defaults(c->uri);
    if (!c->pg)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        keep_message(c, PQerrorMessage(c->pg));
        return pg_error(store, PG_ERR_IO, "connecting");
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    /* a writer waits for another as long as SQLite's busy timeout, then MT_ERR_BUSY */
    PGresult *res = PQexec(c->pg, SESSION_SETUP);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : result_error(c, res);
    PQclear(res);
    return rc ? pg_error(store, rc, "connecting") : MT_OK;
}

#define CONNECT_WAIT_MS 5000 /* a writer waits as long as connect_timeout */

/* Moves a reconnection on, waiting at most wait_ms in all for its socket. */
static PostgresPollingStatusType drive_reset(pg_conn *c, int wait_ms)
{
    PostgresPollingStatusType ps = (PostgresPollingStatusType)c->polling;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = wait_ms - ((now.tv_sec - start.tv_sec) * 1000 +
                               (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd p = {PQsocket(c->pg), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        int ready = p.fd < 0 ? -1 : poll(&p, 1, left > 0 ? (int)left : 0);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            break; /* not yet: the next statement looks again */
        ps = ready < 0 ? PGRES_POLLING_FAILED : PQresetPoll(c->pg);
        c->progress_at = time(NULL);
    }
    c->polling = ps;
    return ps;
}

/* Outside a transaction, a lost connection is opened again; attempts pause
 * longer each time the server stays away.  The module's read-only store
 * never waits for it: each statement moves the reconnection on as far as the
 * server has answered and fails at once until it is done, served meanwhile
 * from what the module holds; a writer waits for it (connect_timeout). */
static mt_status ensure_connected(mt_store *store, pg_conn *c)
{
    if (c->pg && !c->resetting && PQstatus(c->pg) == CONNECTION_OK)
        return MT_OK;
    if (c->in_tx)
        return pg_error(store, PG_ERR_IO, "the connection was lost in a transaction");
    time_t now = time(NULL);
    if (!c->resetting && now < c->retry_at)
        return mt_fail(MT_ERR_IO, "%s: the server is unreachable (next attempt in %lld s): %s",
                       store->path, (long long)(c->retry_at - now), c->errmsg);
    if (!c->pg) { /* the primary, at the first write */
        mt_status st = open_connection(store, c);
        if (st == MT_OK)
            return MT_OK;
        c->retry_pause = 1;
        c->retry_at = now + c->retry_pause;
        return st;
    }
    if (!c->resetting) {
        c->epoch++;
        c->resetting = PQresetStart(c->pg) == 1;
        c->polling = c->resetting ? PGRES_POLLING_WRITING : PGRES_POLLING_FAILED;
        c->progress_at = now;
    }
    PostgresPollingStatusType ps =
        drive_reset(c, store->flags & MT_OPEN_READONLY ? 0 : CONNECT_WAIT_MS);
    if (ps == PGRES_POLLING_OK) {
        c->resetting = false;
        c->retry_pause = 0;
        PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
        PQclear(PQexec(c->pg, SESSION_SETUP));
        return MT_OK;
    }
    /* under way, and the server answered within connect_timeout */
    if (ps != PGRES_POLLING_FAILED && time(NULL) - c->progress_at < CONNECT_WAIT_MS / 1000)
        return mt_fail(MT_ERR_IO, "%s: reconnecting to the server", store->path);
    c->resetting = false;
    keep_message(c, ps == PGRES_POLLING_FAILED ? PQerrorMessage(c->pg) : "timeout expired");
    c->retry_pause = c->retry_pause ? (c->retry_pause * 2 > 30 ? 30 : c->retry_pause * 2) : 1;
    c->retry_at = now + c->retry_pause;
    return pg_error(store, PG_ERR_IO, "reconnecting");
}

static void pg_disconnect(mt_store *store)
{
    pg_conns *p = CONNS(store);
    if (p) {
        PQfinish(p->reader.pg);
        PQfinish(p->writer.pg);
        free(p);
    }
    store->conn = NULL;
}

/* After a command on c: whether it left a transaction open there (a lost
 * connection keeps it marked until the rollback). */
static void note_transaction(pg_conn *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK)
        c->in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
}

/* A read transaction ("BEGIN" of the store's code: passes that must see the
 * same store) takes one snapshot, on the reader. */
#define READ_TRANSACTION "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"

/* One command that returns no rows (or rows nobody reads), on c. */
/* Commits made by this process, on any connection (the module's login
 * handle, a CLI's): a store reads the generation again after one. */
static atomic_uint_fast64_t commits_here;

static mt_status exec_on(mt_store *store, pg_conn *c, const char *sql)
{
    mt_status st = ensure_connected(store, c);
    if (st != MT_OK)
        return st;
    PGresult *res = PQexec(c->pg, strcmp(sql, "BEGIN") == 0 ? READ_TRANSACTION : sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : result_error(c, res);
    if (!rc && status == PGRES_COMMAND_OK && *PQcmdTuples(res)) {
        CONNS(store)->changes = strtoll(PQcmdTuples(res), NULL, 10);
        CONNS(store)->total_changes += CONNS(store)->changes;
    }
    PQclear(res);
    note_transaction(c);
    note_write(store, c, !rc && !reads_only(sql));
    if (!rc && strcmp(sql, "COMMIT") == 0)
        atomic_fetch_add(&commits_here, 1);
    return rc ? pg_error(store, rc, "executing") : MT_OK;
}

static mt_status pg_exec(mt_store *store, const char *sql)
{
    return exec_on(store, active(store, !reads_only(sql)), sql);
}

/* One-off query of a single integer on c (NULL or no row: 0). */
static mt_status query_int(mt_store *store, pg_conn *c, const char *sql, const char *what, int64_t *out)
{
    mt_status st = ensure_connected(store, c);
    if (st != MT_OK)
        return st;
    CONNS(store)->last = c;
    PGresult *res = PQexec(c->pg, sql);
    int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : result_error(c, res);
    if (!rc) {
        const char *v = PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : NULL;
        *out = !v || !*v ? 0 : *v == 't' ? 1 : *v == 'f' ? 0 : strtoll(v, NULL, 10);
    }
    PQclear(res);
    return rc ? pg_error(store, rc, what) : MT_OK;
}

static mt_status pg_connect(mt_store *store)
{
    pg_conns *p = calloc(1, sizeof(*p));
    if (!p)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    store->conn = p;
    p->reader.uri = store->location;
    p->writer.uri = store->primary; /* NULL: none */
    p->last = &p->reader;
    mt_status st = open_connection(store, &p->reader);
    /* A program that may write (the CLI, the server) starts from what the
     * primary holds: one command sees what the one before it wrote. */
    if (st == MT_OK && p->writer.uri && !(store->flags & MT_OPEN_READONLY) &&
        (st = ensure_connected(store, &p->writer)) == MT_OK) {
        p->wrote = true;
        note_write(store, &p->writer, true);
    }
    if (st == MT_OK)
        st = mt_schema_check(store);
    return st;
}

/* -------------------------------------------------------------- statements */

/* The SQLite-dialect text with ?N and ? (the next number) as $N. */
static char *number_parameters(const char *sql, int *n_params)
{
    char *out = malloc(strlen(sql) * 4 + 1), *w = out;
    int highest = 0;
    bool quoted = false;
    if (!out)
        return NULL;
    for (const char *r = sql; *r; r++) {
        if (*r == '\'')
            quoted = !quoted;
        if (*r != '?' || quoted) {
            *w++ = *r;
            continue;
        }
        int n = 0;
        while (isdigit((unsigned char)r[1]))
            n = n * 10 + (*++r - '0');
        if (n == 0)
            n = highest + 1;
        highest = n > highest ? n : highest;
        w += sprintf(w, "$%d", n);
    }
    *w = '\0';
    *n_params = highest;
    return out;
}

static void free_decoded(pg_stmt *s)
{
    for (int i = 0; i < s->n_decoded; i++) {
        PQfreemem(s->decoded[i]);
        s->decoded[i] = NULL;
    }
}

static void clear_result(pg_stmt *s)
{
    free_decoded(s);
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->n_rows = 0;
}

static void pg_reset(mt_stmt *base)
{
    pg_stmt *s = PG(base);
    clear_result(s);
    for (int i = 0; i < s->n_params; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
        s->lengths[i] = 0;
        s->formats[i] = 0;
        s->types[i] = 0;
    }
}

static void deallocate(pg_stmt *s, pg_conn *c)
{
    char sql[48];
    snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
    PQclear(PQexec(c->pg, sql));
}

static void pg_finalize(mt_stmt *base)
{
    pg_stmt *s = PG(base);
    if (!s)
        return;
    pg_reset(base);
    pg_conns *p = CONNS(base->store);
    for (int i = READER; i <= WRITER; i++) {
        pg_conn *c = p ? (i == WRITER ? &p->writer : &p->reader) : NULL;
        if (s->prepared[i].done && c && s->prepared[i].epoch == c->epoch && PQstatus(c->pg) == CONNECTION_OK)
            deallocate(s, c);
        free(s->prepared[i].types);
    }
    free(s->sql);
    free(s->values);
    free(s->lengths);
    free(s->formats);
    free(s->types);
    free(s->decoded);
    free(s->decoded_len);
    free(s);
}

static mt_status pg_prepare(mt_store *store, const char *sql, mt_stmt **out)
{
    pg_stmt *s = calloc(1, sizeof(*s));
    if (!s || !(s->sql = number_parameters(sql, &s->n_params)))
        goto nomem;
    size_t n = s->n_params > 0 ? (size_t)s->n_params : 1;
    s->values = calloc(n, sizeof(*s->values));
    s->lengths = calloc(n, sizeof(*s->lengths));
    s->formats = calloc(n, sizeof(*s->formats));
    s->types = calloc(n, sizeof(*s->types));
    s->prepared[READER].types = calloc(n, sizeof(*s->prepared[READER].types));
    s->prepared[WRITER].types = calloc(n, sizeof(*s->prepared[WRITER].types));
    if (!s->values || !s->lengths || !s->formats || !s->types || !s->prepared[READER].types ||
        !s->prepared[WRITER].types)
        goto nomem;
    s->base.store = store;
    s->base.ops = &mt_backend_pg;
    s->row = -1;
    s->writes = !reads_only(sql);
    snprintf(s->name, sizeof(s->name), "mt%u", ++CONNS(store)->next_name);
    *out = &s->base;
    return MT_OK;
nomem:
    if (s) {
        s->base.store = store;
        pg_finalize(&s->base);
    }
    return mt_fail(MT_ERR_NOMEM, "out of memory");
}

static int pg_param_count(mt_stmt *s) { return PG(s)->n_params; }

static void bind(pg_stmt *s, int i, char *value, int len, int format, unsigned type)
{
    if (i < 1 || i > s->n_params) {
        free(value);
        return;
    }
    free(s->values[i - 1]);
    s->values[i - 1] = value;
    s->lengths[i - 1] = len;
    s->formats[i - 1] = format;
    s->types[i - 1] = type;
}

/* An integer's decimal text; room for the 16 bytes of a time, too. */
#define INT_TEXT 24

static void pg_bind_int64(mt_stmt *s, int i, int64_t v)
{
    char *text = malloc(INT_TEXT);
    if (text)
        snprintf(text, INT_TEXT, "%lld", (long long)v);
    bind(PG(s), i, text, 0, 0, INT8_OID);
}

static void pg_bind_text(mt_stmt *s, int i, const char *text)
{
    bind(PG(s), i, text ? strdup(text) : NULL, 0, 0, 0);
}

static void pg_bind_blob(mt_stmt *s, int i, const void *data, size_t len)
{
    char *copy = data ? malloc(len ? len : 1) : NULL;
    if (copy && len)
        memcpy(copy, data, len);
    bind(PG(s), i, copy, (int)len, 1, BYTEA_OID);
}

static void pg_bind_null(mt_stmt *s, int i) { bind(PG(s), i, NULL, 0, 0, 0); }

/* The parameter a prepare could give no type to ("?1 IS NULL OR t.id = ?1"
 * with ?1 NULL), 1-based, or 0 when that was not the failure. */
static int untyped_parameter(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *at = message ? strstr(message, "parameter $") : NULL;
    if (!state || !at || (strcmp(state, "42P18") != 0 && strcmp(state, "42P08") != 0))
        return 0;
    return atoi(at + strlen("parameter $"));
}

static bool is_time(unsigned type) { return type == TIMESTAMPTZ_OID || type == INTERVAL_OID; }

/* Whether a value bound as `bound` goes to a parameter prepared as `prepared`:
 * a NULL fits any, an integer a time too (send_times converts it). */
static bool fits(unsigned bound, unsigned prepared)
{
    return bound == 0 || bound == prepared || (bound == INT8_OID && is_time(prepared));
}

/* A failure that names a type mismatch: an operator or function with no
 * match, or a value of the wrong type for its column. */
static bool type_mismatch(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state && (!strcmp(state, "42883") || !strcmp(state, "42804"));
}

/* One prepare with these parameter types.  guarded: inside a transaction,
 * under the savepoint ensure_prepared set, rolled back to when the server
 * refuses, so that the transaction stays usable for the next try. */
static PGresult *try_prepare(pg_stmt *s, pg_conn *c, const unsigned *types, bool guarded)
{
    PGresult *res = PQprepare(c->pg, s->name, s->sql, s->n_params, (const Oid *)types);
    if (guarded && PQresultStatus(res) != PGRES_COMMAND_OK)
        PQclear(PQexec(c->pg, "ROLLBACK TO SAVEPOINT mt_prepare"));
    return res;
}

/* Which parameters bound as integers the server wants as times ("at > ?",
 * a timestamptz column's value, "... + ?" an interval): prepared once with
 * those parameters untyped (the others as they are), the statement's
 * description says.  Whether any was found (then prepared as those times);
 * *untyped: a NULL's parameter that this prepare could give no type to. */
static bool find_times(pg_stmt *s, pg_conn *c, unsigned *prepared_types, bool guarded, int *untyped)
{
    bool found = false;
    unsigned *probe = malloc((size_t)s->n_params * sizeof(*probe));
    if (!probe)
        return false;
    for (int i = 0; i < s->n_params; i++)
        probe[i] = s->types[i] == INT8_OID ? 0 : prepared_types[i];
    PGresult *res = try_prepare(s, c, probe, guarded);
    *untyped = untyped_parameter(res);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PGresult *desc = PQdescribePrepared(c->pg, s->name);
        int described = PQresultStatus(desc) == PGRES_COMMAND_OK ? PQnparams(desc) : 0;
        for (int i = 0; i < s->n_params && i < described; i++) {
            if (prepared_types[i] == INT8_OID && is_time(PQparamtype(desc, i))) {
                prepared_types[i] = PQparamtype(desc, i);
                found = true;
            }
        }
        PQclear(desc);
        deallocate(s, c);
    }
    PQclear(res);
    free(probe);
    return found;
}

/* Prepared again when a value's type does not fit the one the server was
 * told.  A refused prepare is tried again with other types: a NULL whose
 * type the query leaves open as a bigint, else text; integers the server
 * wants as times as those times. */
static int ensure_prepared(pg_stmt *s, pg_conn *c, int on)
{
    unsigned *prepared_types = s->prepared[on].types;
    bool fitting = s->prepared[on].done && s->prepared[on].epoch == c->epoch;
    for (int i = 0; fitting && i < s->n_params; i++)
        fitting = fits(s->types[i], prepared_types[i]);
    if (fitting)
        return 0;
    if (s->prepared[on].done && s->prepared[on].epoch == c->epoch)
        deallocate(s, c);
    s->prepared[on].done = false;
    for (int i = 0; i < s->n_params; i++)
        prepared_types[i] = s->types[i];
    /* in a transaction, a refused prepare would abort it (only statements
     * with parameters are tried again) */
    bool guarded = false;
    if (s->n_params > 0 && PQtransactionStatus(c->pg) == PQTRANS_INTRANS) {
        PGresult *sp = PQexec(c->pg, "SAVEPOINT mt_prepare");
        guarded = PQresultStatus(sp) == PGRES_COMMAND_OK;
        PQclear(sp);
    }
    PGresult *res = try_prepare(s, c, prepared_types, guarded);
    for (int tries = 0, n = 0, guessed = 0; res && tries < 4 * s->n_params; tries++) {
        bool untyped = (n = untyped_parameter(res)) > 0;
        if (!untyped && !type_mismatch(res))
            break;
        if (!untyped && find_times(s, c, prepared_types, guarded, &n)) {
            /* tried again with the times */
        } else if (n > 0 && n <= s->n_params && s->types[n - 1] == 0 && prepared_types[n - 1] == 0) {
            prepared_types[(guessed = n) - 1] = INT8_OID;
        } else if (guessed && prepared_types[guessed - 1] == INT8_OID) {
            prepared_types[guessed - 1] = TEXT_OID;
        } else {
            break;
        }
        PQclear(res);
        res = try_prepare(s, c, prepared_types, guarded);
    }
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : result_error(c, res);
    PQclear(res);
    if (guarded)
        PQclear(PQexec(c->pg, "RELEASE SAVEPOINT mt_prepare"));
    if (!rc) {
        s->prepared[on].done = true;
        s->prepared[on].epoch = c->epoch;
    }
    return rc;
}

/* The integers bound where the statement takes times, in the server's
 * binary form: a timestamptz is microseconds since 2000-01-01 UTC, an
 * interval microseconds then days and months (none here).  Seconds beyond
 * what 64 bits of microseconds hold go as an instant the server refuses
 * ("timestamp out of range"), never as another one. */
static void send_times(pg_stmt *s, const unsigned *prepared_types)
{
    const int64_t limit = INT64_MAX / 1000000 - PG_EPOCH_UNIX;
    for (int i = 0; i < s->n_params; i++) {
        if (s->types[i] != INT8_OID || !is_time(prepared_types[i]) || !s->values[i])
            continue;
        bool instant = prepared_types[i] == TIMESTAMPTZ_OID;
        long long seconds = strtoll(s->values[i], NULL, 10);
        int64_t micros = seconds > limit || seconds < -limit ? INT64_MAX - 1
                       : (seconds - (instant ? PG_EPOCH_UNIX : 0)) * 1000000;
        uint8_t *out = (uint8_t *)s->values[i]; /* INT_TEXT bytes: room for 16 */
        for (int b = 0; b < 8; b++)
            out[b] = (uint8_t)((uint64_t)micros >> (56 - 8 * b));
        if (!instant)
            memset(out + 8, 0, 8);
        s->lengths[i] = instant ? 8 : 16;
        s->formats[i] = 1;
        s->types[i] = prepared_types[i];
    }
}

static int run(pg_stmt *s)
{
    mt_store *store = s->base.store;
    pg_conn *c = active(store, s->writes);
    if (ensure_connected(store, c) != MT_OK)
        return PG_ERR_IO;
    int on = c == &CONNS(store)->writer ? WRITER : READER;
    int rc = ensure_prepared(s, c, on);
    if (rc)
        return rc;
    send_times(s, s->prepared[on].types);
    s->res = PQexecPrepared(c->pg, s->name, s->n_params, (const char *const *)s->values, s->lengths,
                            s->formats, 0);
    ExecStatusType status = PQresultStatus(s->res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        rc = result_error(c, s->res);
        clear_result(s);
        return rc;
    }
    const char *tuples = PQcmdTuples(s->res);
    CONNS(store)->changes = *tuples && s->writes ? strtoll(tuples, NULL, 10) : 0;
    CONNS(store)->total_changes += CONNS(store)->changes;
    note_write(store, c, s->writes);
    s->n_rows = status == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
    int n_fields = PQnfields(s->res);
    if (n_fields > s->n_decoded) {
        uint8_t **d = realloc(s->decoded, (size_t)n_fields * sizeof(*d));
        size_t *l = d ? realloc(s->decoded_len, (size_t)n_fields * sizeof(*l)) : NULL;
        if (d)
            s->decoded = d;
        if (l)
            s->decoded_len = l;
        if (!d || !l)
            return PG_ERR_NOMEM;
        for (int i = s->n_decoded; i < n_fields; i++)
            s->decoded[i] = NULL;
        s->n_decoded = n_fields;
    }
    return 0;
}

static int pg_step(mt_stmt *base)
{
    pg_stmt *s = PG(base);
    if (!s->res) {
        int rc = run(s);
        if (rc)
            return rc;
    }
    free_decoded(s);
    if (s->row + 1 >= s->n_rows) {
        s->row = s->n_rows;
        return MT_DONE;
    }
    s->row++;
    return MT_ROW;
}

static bool has_value(pg_stmt *s, int col)
{
    return s->res && s->row >= 0 && s->row < s->n_rows && col >= 0 && col < PQnfields(s->res) &&
           !PQgetisnull(s->res, s->row, col);
}

static bool pg_col_is_null(mt_stmt *s, int col) { return !has_value(PG(s), col); }

static int pg_col_count(mt_stmt *s) { return PG(s)->res ? PQnfields(PG(s)->res) : 0; }
static const char *pg_col_name(mt_stmt *s, int col) { return PG(s)->res ? PQfname(PG(s)->res, col) : NULL; }
static bool pg_col_is_blob(mt_stmt *s, int col)
{
    return PG(s)->res && PQftype(PG(s)->res, col) == BYTEA_OID;
}

/* Times too: col_int64 reads a timestamptz as its Unix seconds. */
static bool pg_col_is_integer(mt_stmt *s, int col)
{
    unsigned type = PG(s)->res ? PQftype(PG(s)->res, col) : 0;
    return type == INT8_OID || type == INT4_OID || type == INT2_OID || type == TIMESTAMPTZ_OID;
}

/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar
 * (year 0 is 1 BC), for any year a timestamptz holds. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Unix seconds of a timestamptz as the session prints it (DateStyle ISO):
 * "2023-11-14 22:13:20+00", maybe with a fraction (dropped: the floor), an
 * offset to +HH:MM:SS and " BC"; "infinity" as the largest value. */
static int64_t iso_unix_seconds(const char *v)
{
    if (!strcmp(v, "infinity") || !strcmp(v, "-infinity"))
        return *v == '-' ? INT64_MIN : INT64_MAX;
    char *p = NULL;
    int64_t year = strtoll(v, &p, 10);
    int month = 0, day = 0, h = 0, m = 0, sec = 0, used = 0;
    if (sscanf(p, "-%d-%d %d:%d:%d%n", &month, &day, &h, &m, &sec, &used) != 5)
        return 0;
    p += used;
    while (*p == '.' || isdigit((unsigned char)*p))
        p++;
    int64_t offset = 0;
    int sign = *p == '-' ? -1 : 1;
    for (int unit = 3600; (*p == '+' || *p == '-' || *p == ':') && unit >= 1; unit /= 60)
        offset += unit * strtol(p + 1, &p, 10);
    if (!strcmp(p, " BC"))
        year = 1 - year;
    return days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec - sign * offset;
}

static int64_t pg_col_int64(mt_stmt *base, int col)
{
    pg_stmt *s = PG(base);
    if (!has_value(s, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == TIMESTAMPTZ_OID)
        return iso_unix_seconds(v);
    return *v == 't' ? 1 : *v == 'f' ? 0 : strtoll(v, NULL, 10);
}

static const char *pg_col_text(mt_stmt *base, int col)
{
    pg_stmt *s = PG(base);
    return has_value(s, col) ? PQgetvalue(s->res, s->row, col) : NULL;
}

static const uint8_t *decoded(pg_stmt *s, int col, size_t *len)
{
    *len = 0;
    if (!has_value(s, col))
        return NULL;
    if (PQftype(s->res, col) != BYTEA_OID) { /* text read as bytes, as SQLite allows */
        *len = (size_t)PQgetlength(s->res, s->row, col);
        return (const uint8_t *)PQgetvalue(s->res, s->row, col);
    }
    if (!s->decoded[col])
        s->decoded[col] = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, col),
                                          &s->decoded_len[col]);
    *len = s->decoded[col] ? s->decoded_len[col] : 0;
    return s->decoded[col];
}

static const void *pg_col_blob(mt_stmt *s, int col)
{
    size_t len = 0;
    return decoded(PG(s), col, &len);
}

static size_t pg_col_bytes(mt_stmt *s, int col)
{
    size_t len = 0;
    decoded(PG(s), col, &len);
    return len;
}

/* ------------------------------------------------------------ transactions */

static int64_t pg_last_id(mt_store *store)
{
    int64_t id = 0;
    if (query_int(store, CONNS(store)->last, "SELECT lastval()", "reading the new row's id", &id) != MT_OK)
        mt_clear_error();
    return id;
}

static int64_t pg_changes(mt_store *store) { return CONNS(store)->changes; }
static int64_t pg_total_changes(mt_store *store) { return CONNS(store)->total_changes; }

/* On the primary when the store has one (the transaction is the writer's
 * from BEGIN on: everything in it follows). */
static mt_status pg_begin(mt_store *store, bool writer)
{
    pg_conn *c = active(store, true);
    mt_status st = exec_on(store, c, "BEGIN ISOLATION LEVEL READ COMMITTED");
    if (st == MT_OK && writer && (st = pg_exec(store, WRITER_LOCK)) != MT_OK) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
        note_transaction(c);
    }
    return st;
}

static void pg_rollback(mt_store *store, int level)
{
    char sql[64];
    if (!store->conn)
        return;
    pg_conn *c = active(store, false);
    if (level == 0) {
        c->in_tx = false; /* whatever comes of it: a lost connection took it along */
        CONNS(store)->wrote = false;
    }
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
        return;
    if (level == 0)
        snprintf(sql, sizeof(sql), "ROLLBACK");
    else
        snprintf(sql, sizeof(sql), "ROLLBACK TO mt%d; RELEASE mt%d", level, level);
    PQclear(PQexec(c->pg, sql));
}

/* No cheap local signal of another host's commit: the meta row is read, a
 * round trip, at most every GENERATION_POLL_MS (the module asks at every
 * C_FindObjectsInit, which its index serves in microseconds) and at once
 * after a commit of this process. */
#define GENERATION_POLL_MS 100

static mt_status pg_maybe_changed(mt_store *store, bool *changed)
{
    pg_conns *p = CONNS(store);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    uint_fast64_t commits = atomic_load(&commits_here);
    *changed = p->polled_ms == 0 || now_ms - p->polled_ms >= GENERATION_POLL_MS || commits != p->commits_seen;
    if (*changed) {
        p->polled_ms = now_ms;
        p->commits_seen = commits;
    }
    return MT_OK;
}

/* ------------------------------------------------------------------ schema */

static mt_status pg_schema_version(mt_store *store, int *version)
{
    int64_t has_meta = 0, v = 0;
    pg_conn *c = active(store, false);
    mt_status st = query_int(store, c, "SELECT to_regclass('meta') IS NOT NULL", "reading the schema", &has_meta);
    if (st == MT_OK && has_meta)
        st = query_int(store, c, "SELECT value FROM meta WHERE key = 'schema_version'",
                       "reading the schema version", &v);
    *version = (int)v;
    return st;
}

static mt_status pg_set_schema_version(mt_store *store, int version)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "INSERT INTO meta (key, value) VALUES ('schema_version', %d)"
             " ON CONFLICT (key) DO UPDATE SET value = excluded.value", version);
    return pg_exec(store, sql);
}

static mt_status pg_has_tables(mt_store *store, bool *any)
{
    int64_t n = 0;
    mt_status st = query_int(store, active(store, false), "SELECT count(*) FROM pg_catalog.pg_tables"
                             " WHERE schemaname = current_schema()", "reading the schema", &n);
    *any = n > 0;
    return st;
}

static mt_status pg_migrate(mt_store *store, const char *sql)
{
    char *translated = mt_pg_translate_ddl(sql);
    if (!translated)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    mt_status st = pg_exec(store, translated);
    free(translated);
    return st;
}

/* A counter connection finds out at its first write: a role with no right to
 * update gets MT_ERR_READONLY then, as a read-only SQLite file does.  With a
 * primary, the primary is asked. */
static mt_status pg_check_writable(mt_store *store)
{
    int64_t read_only = 0;
    mt_status st = query_int(store, active(store, true), "SELECT current_setting('transaction_read_only') = 'on'",
                             "checking the server accepts writes", &read_only);
    if (st == MT_OK && read_only)
        st = mt_fail(MT_ERR_READONLY, "%s: the server accepts no writes (a standby?)", store->path);
    return st;
}

const mt_backend mt_backend_pg = {
    .name = "PostgreSQL",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .error = pg_error,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .step = pg_step,
    .param_count = pg_param_count,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .col_is_null = pg_col_is_null,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .col_is_blob = pg_col_is_blob,
    .col_is_integer = pg_col_is_integer,
    .exec = pg_exec,
    .last_id = pg_last_id,
    .changes = pg_changes,
    .total_changes = pg_total_changes,
    .begin = pg_begin,
    .rollback = pg_rollback,
    .maybe_changed = pg_maybe_changed,
    .schema_version = pg_schema_version,
    .set_schema_version = pg_set_schema_version,
    .has_tables = pg_has_tables,
    .migrate = pg_migrate,
    .check_writable = pg_check_writable,
};
