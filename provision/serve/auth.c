/* Bearer API keys, and slowing down an address that keeps failing: each
 * address may fail `api_auth_failures` times a minute (a bucket refilled
 * continuously); once empty, its requests get 429 with Retry-After, whatever
 * key they carry, until the bucket refills. */
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LIMITER_SLOTS 1024

typedef struct slot {
    char addr[64]; /* "" when free */
    double tokens;
    double at; /* monotonic seconds of the last update */
} slot;

struct mt_api_limiter {
    pthread_mutex_t lock;
    double burst;      /* failures allowed at once */
    double per_second; /* refill */
    slot slots[LIMITER_SLOTS];
};

mt_status mt_api_limiter_new(unsigned failures_per_minute, mt_api_limiter **out)
{
    mt_api_limiter *l = calloc(1, sizeof(*l));
    if (!l)
        return MT_ERR_NOMEM;
    pthread_mutex_init(&l->lock, NULL);
    l->burst = failures_per_minute;
    l->per_second = failures_per_minute / 60.0;
    *out = l;
    return MT_OK;
}

void mt_api_limiter_free(mt_api_limiter *limiter)
{
    if (!limiter)
        return;
    pthread_mutex_destroy(&limiter->lock);
    free(limiter);
}

static double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The address's slot, refilled to now: found, or a free one, or the fullest
 * of the probed ones (an address with a full bucket is as good as unknown). */
static slot *find_slot(mt_api_limiter *l, const char *addr, double now)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 16777619u;
    slot *victim = NULL;
    for (unsigned i = 0; i < 8; i++) {
        slot *s = &l->slots[(h + i) % LIMITER_SLOTS];
        if (s->addr[0]) {
            s->tokens += (now - s->at) * l->per_second;
            if (s->tokens > l->burst)
                s->tokens = l->burst;
            s->at = now;
            if (strcmp(s->addr, addr) == 0)
                return s;
        }
        bool free_slot = !s->addr[0];
        if (!victim || (free_slot && victim->addr[0]) ||
            (!free_slot && victim->addr[0] && s->tokens > victim->tokens))
            victim = s;
    }
    snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
    victim->tokens = l->burst;
    victim->at = now;
    return victim;
}

/* False (and the seconds to wait) when the address has no failure left. */
static bool limiter_allows(mt_api_limiter *l, const char *addr, unsigned *retry_after)
{
    pthread_mutex_lock(&l->lock);
    slot *s = find_slot(l, addr, now_monotonic());
    bool ok = s->tokens >= 1.0;
    if (!ok)
        *retry_after = (unsigned)((1.0 - s->tokens) / l->per_second) + 1;
    pthread_mutex_unlock(&l->lock);
    return ok;
}

static void limiter_failed(mt_api_limiter *l, const char *addr)
{
    pthread_mutex_lock(&l->lock);
    slot *s = find_slot(l, addr, now_monotonic());
    s->tokens -= 1.0;
    pthread_mutex_unlock(&l->lock);
}

/* The key of the Bearer header, with the reason when there is none. */
static mt_status lookup(mt_api_server *srv, const char *token, mt_api_key **key)
{
    mt_store *store = NULL;
    mt_status st = mt_api_pool_get(srv->pool, &store);
    if (st != MT_OK)
        return st;
    st = mt_store_api_key_find(store, token, strlen(token), key);
    mt_api_pool_put(srv->pool, store, st != MT_OK && st != MT_ERR_NOT_FOUND);
    return st;
}

mt_api_key *mt_api_authenticate(mt_api_server *srv, struct MHD_Connection *conn,
                                const char *client, unsigned *status, char *message,
                                size_t message_len, unsigned *retry_after)
{
    mt_api_key *key = NULL;
    char when[21];
    if (!limiter_allows(srv->limiter, client, retry_after)) {
        *status = 429;
        snprintf(message, message_len,
                 "too many failed authentications from %s: try again in %u s", client,
                 *retry_after);
        return NULL;
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    *status = 401;
    if (!auth || !*auth) {
        snprintf(message, message_len, "an API key is required: Authorization: Bearer KEY");
        return NULL;
    }
    if (strncasecmp(auth, "Bearer ", 7) != 0) {
        snprintf(message, message_len, "the Authorization header must be: Bearer KEY");
        return NULL;
    }
    const char *token = auth + 7;
    token += strspn(token, " ");
    mt_status st = lookup(srv, token, &key);
    int64_t now = (int64_t)time(NULL);
    if (st == MT_ERR_NOT_FOUND) {
        snprintf(message, message_len, "unknown API key");
    } else if (st != MT_OK) {
        *status = st == MT_ERR_BUSY ? 503 : 500;
        snprintf(message, message_len, "cannot check the API key now");
        fprintf(stderr, "mailtoken serve: checking an API key: %s\n", mt_errmsg());
        return NULL;
    } else if (key->revoked_at) {
        mt_cli_format_time(key->revoked_at, when);
        snprintf(message, message_len, "API key %lld was revoked at %s", (long long)key->id, when);
    } else if (key->expires_at && key->expires_at <= now) {
        mt_cli_format_time(key->expires_at, when);
        snprintf(message, message_len, "API key %lld expired at %s", (long long)key->id, when);
    } else {
        *status = 0;
        return key;
    }
    mt_api_key_free(key);
    limiter_failed(srv->limiter, client);
    return NULL;
}

bool mt_api_org_matches(const mt_api_key *key, const char *org_ref)
{
    if (strcmp(org_ref, key->org_name) == 0)
        return true;
    size_t n = strlen(org_ref);
    if (n == 0 || n > 18 || strspn(org_ref, "0123456789") != n)
        return false;
    return strtoll(org_ref, NULL, 10) == key->org_id;
}
