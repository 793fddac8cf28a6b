/* Bulk import: worker threads read and parse files (the CPU-heavy part: P12
 * key derivation, decryption, key checks) while the calling thread stores
 * them one by one, in order, each in its own transaction. */
#include "import.h"

#include <pthread.h>
#include <stdlib.h>

#define MT_PIPELINE_WINDOW 64 /* parsed files waiting at most: bounds memory */

typedef struct pipeline {
    mt_cli *cli;
    mt_import_opts *opts;
    const mt_file_list *files;
    size_t n;
    mt_prepared slots[MT_PIPELINE_WINDOW];
    bool ready[MT_PIPELINE_WINDOW];
    size_t next;     /* next file to claim */
    size_t consumed; /* files handed over */
    pthread_mutex_t lock;
    pthread_cond_t changed;
} pipeline;

static void *worker(void *arg)
{
    pipeline *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->next < p->n && p->next >= p->consumed + MT_PIPELINE_WINDOW)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->next >= p->n) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        size_t index = p->next++;
        pthread_mutex_unlock(&p->lock);

        mt_prepared prepared;
        mt_import_prepare(p->cli, p->opts, p->files->paths[index], p->files->key_paths[index],
                          &prepared);

        pthread_mutex_lock(&p->lock);
        p->slots[index % MT_PIPELINE_WINDOW] = prepared;
        p->ready[index % MT_PIPELINE_WINDOW] = true;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
    }
}

static void run_sequential(mt_cli *cli, mt_import_opts *opts, const mt_file_list *files,
                           mt_prepared_fn store_one, void *ctx)
{
    for (size_t i = 0; i < files->n; i++) {
        mt_prepared prepared;
        mt_import_prepare(cli, opts, files->paths[i], files->key_paths[i], &prepared);
        store_one(ctx, i, &prepared);
        mt_prepared_clear(&prepared);
    }
}

mt_status mt_import_pipeline(mt_cli *cli, mt_import_opts *opts, const mt_file_list *files,
                             unsigned jobs, mt_prepared_fn store_one, void *ctx)
{
    size_t n = files->n;
    /* A prompt needs the terminal to itself: one file at a time then. */
    if (jobs <= 1 || n <= 1 || opts->may_prompt) {
        run_sequential(cli, opts, files, store_one, ctx);
        return MT_OK;
    }
    pipeline *p = calloc(1, sizeof(*p));
    pthread_t *threads = calloc(jobs, sizeof(*threads));
    unsigned started = 0;
    if (!p || !threads) {
        free(p);
        free(threads);
        return MT_ERR_NOMEM;
    }
    *p = (pipeline){.cli = cli, .opts = opts, .files = files, .n = n};
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    for (; started < jobs; started++) {
        if (pthread_create(&threads[started], NULL, worker, p) != 0)
            break;
    }
    if (started == 0) { /* no thread at all: still import everything */
        run_sequential(cli, opts, files, store_one, ctx);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t slot = i % MT_PIPELINE_WINDOW;
        pthread_mutex_lock(&p->lock);
        while (!p->ready[slot])
            pthread_cond_wait(&p->changed, &p->lock);
        mt_prepared prepared = p->slots[slot];
        p->ready[slot] = false;
        p->consumed = i + 1;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        store_one(ctx, i, &prepared);
        mt_prepared_clear(&prepared);
    }
out:
    for (unsigned t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(threads);
    free(p);
    return MT_OK;
}
