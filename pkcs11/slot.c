/* Slots: one per account the filter lets through.  The list never shrinks
 * while the module is loaded; a deleted account leaves a slot with no token. */
#include "token.h"

#include "calls.h"
#include "init.h"
#include "object.h"
#include "rv.h"
#include "session.h"
#include "state.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void token_state_free(mt_token_state *token)
{
    if (!token)
        return;
    mt_token_logout(token);
    mt_session_objects_free(token);
    mt_objects_free(token->objects);
    free(token->handles.keys);
    free(token);
}

void mt_slots_free(void)
{
    for (size_t i = 0; i < mt_g.n_slots; i++)
        token_state_free(mt_g.slots[i]->token);
    for (size_t i = 0; i < mt_g.n_blocks; i++) {
        if (mt_g.blocks[i].mapped)
            munmap(mt_g.blocks[i].data, mt_g.blocks[i].mapped);
        else
            free(mt_g.blocks[i].data);
    }
    free(mt_g.blocks);
    free(mt_g.slots);
    free(mt_g.by_id);
    mt_g.blocks = NULL;
    mt_g.slots = NULL;
    mt_g.by_id = NULL;
    mt_g.n_slots = mt_g.cap_slots = mt_g.n_blocks = 0;
}

/* Position in by_id where `id` is or would go. */
static size_t by_id_position(CK_SLOT_ID id)
{
    size_t lo = 0, hi = mt_g.n_slots;
    if (hi > 0 && mt_g.slots[mt_g.by_id[hi - 1]]->id < id)
        return hi; /* new tokens have the highest ids: append */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mt_g.slots[mt_g.by_id[mid]]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The slot and its position in mt_g.slots, or NULL. */
static mt_slot *slot_lookup(CK_SLOT_ID id, size_t *index)
{
    size_t pos = by_id_position(id);
    if (pos == mt_g.n_slots || mt_g.slots[mt_g.by_id[pos]]->id != id)
        return NULL;
    *index = mt_g.by_id[pos];
    return mt_g.slots[*index];
}

mt_slot *mt_slot_find(CK_SLOT_ID id)
{
    size_t index = 0;
    return slot_lookup(id, &index);
}

/* A slot with its token present, or CKR_SLOT_ID_INVALID / CKR_TOKEN_NOT_PRESENT. */
static CK_RV slot_with_token(CK_SLOT_ID id, mt_slot **slot, size_t *index)
{
    *slot = slot_lookup(id, index);
    if (!*slot)
        return CKR_SLOT_ID_INVALID;
    return (*slot)->present ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

CK_RV mt_slot_present(CK_SLOT_ID id)
{
    mt_slot *slot = NULL;
    size_t index = 0;
    return slot_with_token(id, &slot, &index);
}

static CK_RV add_event(CK_SLOT_ID id)
{
    for (size_t i = 0; i < mt_g.n_events; i++)
        if (mt_g.events[i] == id)
            return CKR_OK;
    CK_SLOT_ID *events = realloc(mt_g.events, (mt_g.n_events + 1) * sizeof(*events));
    if (!events)
        return CKR_HOST_MEMORY;
    mt_g.events = events;
    mt_g.events[mt_g.n_events++] = id;
    return CKR_OK;
}

/* Room for `more` slots in the position and id arrays. */
static CK_RV slots_reserve(size_t more)
{
    if (mt_g.n_slots + more <= mt_g.cap_slots)
        return CKR_OK;
    size_t cap = mt_g.cap_slots ? mt_g.cap_slots : 64;
    while (cap < mt_g.n_slots + more)
        cap *= 2;
    mt_slot **slots = realloc(mt_g.slots, cap * sizeof(*slots));
    if (!slots)
        return CKR_HOST_MEMORY;
    mt_g.slots = slots;
    size_t *by_id = realloc(mt_g.by_id, cap * sizeof(*by_id));
    if (!by_id)
        return CKR_HOST_MEMORY;
    mt_g.by_id = by_id;
    mt_g.cap_slots = cap;
    return CKR_OK;
}

/* Keeps a block until C_Finalize (slots never go while the module runs). */
static CK_RV block_keep(void *data, size_t mapped)
{
    struct mt_block *blocks = realloc(mt_g.blocks, (mt_g.n_blocks + 1) * sizeof(*blocks));
    if (!blocks)
        return CKR_HOST_MEMORY;
    mt_g.blocks = blocks;
    mt_g.blocks[mt_g.n_blocks++] = (struct mt_block){data, mapped};
    return CKR_OK;
}

/* Zeroed memory for `n` slots.  A large block is mapped with its
 * pages populated at once: 100,000 slots would otherwise take a thousand
 * page faults one by one as they are filled in. */
static mt_slot *slot_block_new(size_t n, size_t *mapped)
{
    size_t size = n * sizeof(mt_slot);
    *mapped = 0;
    if (size < (1u << 20))
        return calloc(n, sizeof(mt_slot));
    void *data = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (data == MAP_FAILED)
        return NULL;
    *mapped = size;
    return data;
}

static void slot_block_free(mt_slot *block, size_t mapped)
{
    if (mapped)
        munmap(block, mapped);
    else
        free(block);
}

/* The slot lives in memory of a kept block; the email stays in the kept
 * string block of the list it came from. */
static void slot_add(mt_slot *slot, const mt_token_brief *token)
{
    slot->id = (CK_SLOT_ID)token->id;
    slot->org_id = token->org_id;
    slot->email = token->email;
    size_t pos = by_id_position(slot->id);
    if (pos < mt_g.n_slots)
        memmove(&mt_g.by_id[pos + 1], &mt_g.by_id[pos], (mt_g.n_slots - pos) * sizeof(size_t));
    mt_g.by_id[pos] = mt_g.n_slots;
    mt_g.slots[mt_g.n_slots++] = slot;
}

/* The token state of a slot, made on first use. */
static mt_token_state *token_state_of(mt_slot *slot, size_t index)
{
    if (slot->token)
        return slot->token;
    mt_token_state *token = calloc(1, sizeof(*token));
    if (!token)
        return NULL;
    token->id = slot->id;
    token->index = index;
    token->token_id = (int64_t)slot->id;
    token->org_id = slot->org_id;
    token->email = slot->email;
    token->login = MT_NOT_LOGGED_IN;
    return slot->token = token;
}

CK_RV mt_slot_token(CK_SLOT_ID id, mt_token_state **out)
{
    mt_slot *slot = NULL;
    size_t index = 0;
    CK_RV rv = slot_with_token(id, &slot, &index);
    if (rv != CKR_OK)
        return rv;
    *out = token_state_of(slot, index);
    return *out ? CKR_OK : CKR_HOST_MEMORY;
}

static bool slot_wanted(const mt_token_brief *token)
{
    return token->has_account && token->id > 0 && token->id <= 0x7fffffff &&
           mt_filter_accepts(&mt_g.filter, token);
}

/* Slots of the listed tokens (NULL for those the filter leaves out): the
 * existing ones found, the new ones allocated in one block. */
static CK_RV slots_match(mt_token_briefs *tokens, mt_slot **match)
{
    static mt_slot new_slot; /* marks a wanted token without a slot yet */
    size_t fresh = 0;
    for (size_t i = 0; i < tokens->n; i++) {
        match[i] = NULL;
        if (!slot_wanted(&tokens->items[i]))
            continue;
        if (mt_g.n_slots)
            match[i] = mt_slot_find((CK_SLOT_ID)tokens->items[i].id);
        if (!match[i]) {
            match[i] = &new_slot;
            fresh++;
        }
    }
    if (fresh == 0)
        return CKR_OK;
    size_t mapped = 0;
    mt_slot *block = slot_block_new(fresh, &mapped);
    CK_RV rv = block ? slots_reserve(fresh) : CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = block_keep(block, mapped);
    if (rv == CKR_OK)
        rv = block_keep(tokens->strings, 0);
    if (rv != CKR_OK) {
        if (mt_g.n_blocks && mt_g.blocks[mt_g.n_blocks - 1].data == block)
            mt_g.n_blocks--;
        if (block)
            slot_block_free(block, mapped);
        return rv;
    }
    tokens->strings = NULL; /* the slots' emails point into it */
    for (size_t i = 0, k = 0; i < tokens->n && k < fresh; i++) {
        if (match[i] == &new_slot) {
            match[i] = &block[k++];
            slot_add(match[i], &tokens->items[i]);
        }
    }
    return CKR_OK;
}

/* The token went away: its sessions end, its login and objects go. */
static void slot_remove_token(mt_slot *slot)
{
    mt_token_state *token = slot->token;
    slot->present = false;
    if (!token)
        return;
    mt_sessions_drop_token(token);
    mt_token_logout(token);
    mt_session_objects_free(token);
    mt_objects_free(token->objects);
    token->objects = NULL;
}

/* A store the configuration does not let us open (a store key file others
 * may read, limits outside the window...) is the administrator's to fix: the
 * trace says why (open_store), and the call fails as a general error, not as
 * the caller's bad arguments. */
static CK_RV open_store_refused(mt_status st)
{
    return st == MT_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_GENERAL_ERROR;
}

static mt_status open_store(bool *refused)
{
    mt_status st = MT_OK;
    if (mt_g.store ||
        (!mt_store_location_is_server(mt_g.store_path) && access(mt_g.store_path, F_OK) != 0))
        return MT_OK; /* no store yet: no slots, looked for again at the next scan */
    st = mt_store_open(mt_g.store_path, mt_g.config, MT_OPEN_READONLY, &mt_g.store);
    if (st == MT_OK) {
        char actor[32];
        snprintf(actor, sizeof(actor), "pkcs11:%ld", (long)getpid());
        mt_store_set_actor(mt_g.store, actor);
        for (const char *w = mt_store_warning(mt_g.store), *end; w && *w; w = *end ? end + 1 : end) {
            end = strchrnul(w, '\n');
            mt_trace("warning: %.*s", (int)(end - w), w);
        }
    } else {
        mt_trace("cannot open the store: %s", mt_errmsg());
    }
    *refused = st == MT_ERR_INVALID;
    return st;
}

/* Called with the module lock held.  Cheap when nothing changed; a change
 * costs one light query over the tokens (no per-token details).  A store
 * that cannot be reached (a server gone away) leaves the slots as they were
 * last seen: their tokens keep signing with what they hold. */
CK_RV mt_slots_rescan(void)
{
    mt_token_briefs tokens = {0};
    uint64_t generation = 0;
    mt_slot **match = NULL;
    CK_RV rv = CKR_OK;
    bool refused = false;
    mt_store_lock();
    mt_status st = open_store(&refused);
    if (st == MT_OK && mt_g.store)
        st = mt_store_generation(mt_g.store, &generation);
    bool changed = st == MT_OK && mt_g.store &&
                   (!mt_g.generation_known || generation != mt_g.generation);
    if (changed)
        st = mt_store_token_briefs(mt_g.store, mt_g.filter.kind != MT_FILTER_ALL, &tokens);
    mt_store_unlock();
    if (st == MT_ERR_IO && mt_g.generation_known) {
        mt_trace("the store is unreachable, the slots stay as last seen: %s", mt_errmsg());
        goto out;
    }
    if (st != MT_OK) {
        rv = refused ? open_store_refused(st) : mt_rv_from_status(st);
        goto out;
    }
    if (!changed)
        goto out;
    match = malloc((tokens.n + 1) * sizeof(*match));
    rv = match ? slots_match(&tokens, match) : CKR_HOST_MEMORY;
    if (rv != CKR_OK)
        goto out;
    for (size_t i = 0; i < tokens.n; i++) {
        mt_slot *slot = match[i];
        if (!slot)
            continue;
        slot->seen = true;
        if (!slot->present && mt_g.generation_known)
            add_event(slot->id);
        slot->present = true;
    }
    for (size_t i = 0; i < mt_g.n_slots; i++) {
        mt_slot *slot = mt_g.slots[i];
        if (slot->present && !slot->seen) {
            slot_remove_token(slot);
            add_event(slot->id);
        }
        slot->seen = false;
    }
    mt_g.generation = generation;
    mt_g.generation_known = true;
out:
    free(match);
    mt_token_briefs_clear(&tokens);
    return rv;
}

/* The slot calls below run under mt_call_begin_slot: initialised, their
 * arguments there, the module lock held. */
CK_RV mt_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    CK_RV rv = CKR_OK;
    if (!list)
        rv = mt_slots_rescan();
    if (rv != CKR_OK)
        goto out;
    CK_ULONG n = 0;
    for (size_t i = 0; i < mt_g.n_slots; i++) {
        const mt_slot *slot = mt_g.slots[mt_g.by_id[i]];
        if (present && !slot->present)
            continue;
        if (list && n < *count)
            list[n] = slot->id;
        n++;
    }
    if (list && n > *count)
        rv = CKR_BUFFER_TOO_SMALL;
    *count = n;
out:
    return rv;
}

CK_RV mt_get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
    const mt_slot *slot = mt_slot_find(id);
    if (!slot)
        return CKR_SLOT_ID_INVALID;
    char description[80];
    snprintf(description, sizeof(description), "mailtoken %s", slot->email);
    memset(info, 0, sizeof(*info));
    mt_pad(info->slotDescription, sizeof(info->slotDescription), description);
    mt_pad(info->manufacturerID, sizeof(info->manufacturerID), MT_MANUFACTURER);
    info->flags = CKF_REMOVABLE_DEVICE | (slot->present ? CKF_TOKEN_PRESENT : 0);
    info->hardwareVersion.major = 0;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion = info->hardwareVersion;
    return CKR_OK;
}

/* Only the non-blocking form: a blocking wait would need a thread watching
 * the store, and CKR_FUNCTION_NOT_SUPPORTED is what clients expect then. */
CK_RV mt_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
    (void)reserved; /* NULL: checked with the arguments */
    if (!(flags & CKF_DONT_BLOCK))
        return CKR_FUNCTION_NOT_SUPPORTED;
    CK_RV rv = mt_slots_rescan();
    if (rv != CKR_OK)
        goto out;
    if (mt_g.n_events == 0) {
        rv = CKR_NO_EVENT;
        goto out;
    }
    *slot = mt_g.events[0];
    memmove(mt_g.events, mt_g.events + 1, (mt_g.n_events - 1) * sizeof(*mt_g.events));
    mt_g.n_events--;
out:
    return rv;
}
