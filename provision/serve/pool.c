/* Store connections for the request threads: an SQLite connection serves
 * one thread at a time, so each request borrows one and gives it back.
 * Idle connections are kept (opening one reads the schema) up to a bound. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

#define POOL_MAX_IDLE 32

struct mt_api_pool {
    pthread_mutex_t lock;
    char *path;
    const mt_config *config;
    mt_store *idle[POOL_MAX_IDLE];
    size_t n_idle;
};

mt_status mt_api_pool_new(const char *store_path, const mt_config *config, mt_api_pool **out)
{
    mt_api_pool *pool = calloc(1, sizeof(*pool));
    if (!pool || !(pool->path = strdup(store_path))) {
        free(pool);
        return MT_ERR_NOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->config = config;
    /* One connection now: a store that cannot be opened stops the start. */
    mt_store *first = NULL;
    mt_status st = mt_store_open(pool->path, config, 0, &first);
    if (st != MT_OK) {
        mt_api_pool_free(pool);
        return st;
    }
    pool->idle[pool->n_idle++] = first;
    *out = pool;
    return MT_OK;
}

void mt_api_pool_free(mt_api_pool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->n_idle; i++)
        mt_store_close(pool->idle[i]);
    pthread_mutex_destroy(&pool->lock);
    free(pool->path);
    free(pool);
}

mt_status mt_api_pool_get(mt_api_pool *pool, mt_store **out)
{
    *out = NULL;
    pthread_mutex_lock(&pool->lock);
    if (pool->n_idle)
        *out = pool->idle[--pool->n_idle];
    pthread_mutex_unlock(&pool->lock);
    if (*out)
        return MT_OK;
    return mt_store_open(pool->path, pool->config, 0, out);
}

void mt_api_pool_put(mt_api_pool *pool, mt_store *store, bool broken)
{
    if (!store)
        return;
    if (!broken) {
        pthread_mutex_lock(&pool->lock);
        if (pool->n_idle < POOL_MAX_IDLE) {
            pool->idle[pool->n_idle++] = store;
            store = NULL;
        }
        pthread_mutex_unlock(&pool->lock);
    }
    mt_store_close(store); /* NULL when kept */
}

void mt_api_write_lock(mt_api_server *srv)
{
    pthread_mutex_lock(&srv->write_lock);
}

void mt_api_write_unlock(mt_api_server *srv)
{
    pthread_mutex_unlock(&srv->write_lock);
}
