/* Where the values of session secret keys live: sodium_malloc'd memory
 * (guarded, locked, wiped), handed out in 64-byte cells from arenas of 64 KiB.
 * A sodium_malloc per key costs four system calls, as much as the key
 * agreement itself, and a mail opened with ECDH makes two keys.  A value
 * longer than a cell gets its own sodium_malloc.  Callers hold the module
 * lock (which fork() handlers take), the arena lock is this file's own. */
#include "object.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CELL 64u
#define CELLS 1024u
#define WORDS (CELLS / 64u)

typedef struct arena {
    uint8_t *memory;
    uint64_t used[WORDS];
    size_t n_used;
} arena;

static pthread_mutex_t keymem_lock = PTHREAD_MUTEX_INITIALIZER;
static arena *arenas;
static size_t n_arenas;

static uint8_t *cell_take(arena *a)
{
    for (size_t w = 0; w < WORDS; w++) {
        if (a->used[w] == UINT64_MAX)
            continue;
        unsigned bit = (unsigned)__builtin_ctzll(~a->used[w]);
        a->used[w] |= 1ULL << bit;
        a->n_used++;
        return a->memory + (w * 64u + bit) * CELL;
    }
    return NULL;
}

static uint8_t *arena_alloc(void)
{
    uint8_t *cell = NULL;
    for (size_t i = 0; i < n_arenas && !cell; i++)
        if (arenas[i].n_used < CELLS)
            cell = cell_take(&arenas[i]);
    if (cell)
        return cell;
    arena *grown = realloc(arenas, (n_arenas + 1) * sizeof(*arenas));
    if (!grown)
        return NULL;
    arenas = grown;
    arena *a = &arenas[n_arenas];
    memset(a, 0, sizeof(*a));
    if (!(a->memory = sodium_malloc(CELL * CELLS)))
        return NULL;
    n_arenas++;
    return cell_take(a);
}

uint8_t *mt_keymem_alloc(size_t len)
{
    uint8_t *p = NULL;
    if (len == 0 || len > CELL) {
        p = sodium_malloc(len ? len : 1);
    } else {
        pthread_mutex_lock(&keymem_lock);
        p = arena_alloc();
        pthread_mutex_unlock(&keymem_lock);
    }
    return p;
}

void mt_keymem_free(uint8_t *p, size_t len)
{
    if (!p)
        return;
    if (len == 0 || len > CELL) {
        sodium_free(p);
        return;
    }
    sodium_memzero(p, len);
    pthread_mutex_lock(&keymem_lock);
    for (size_t i = 0; i < n_arenas; i++) {
        arena *a = &arenas[i];
        if (p < a->memory || p >= a->memory + CELL * CELLS)
            continue;
        size_t cell = (size_t)(p - a->memory) / CELL;
        a->used[cell / 64u] &= ~(1ULL << (cell % 64u));
        a->n_used--;
        break;
    }
    pthread_mutex_unlock(&keymem_lock);
}

/* A forked child: the parent's key values are wiped from its copy of the
 * arenas (the objects naming them are abandoned with the parent's state). */
void mt_keymem_wipe_all(void)
{
    for (size_t i = 0; i < n_arenas; i++) {
        sodium_memzero(arenas[i].memory, CELL * CELLS);
        memset(arenas[i].used, 0, sizeof(arenas[i].used));
        arenas[i].n_used = 0;
    }
}
