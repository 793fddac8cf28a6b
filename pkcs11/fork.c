/* Fork safety: the child of a process using the module starts clean.  The
 * handlers keep the state consistent across fork (prepare takes both locks,
 * both sides release them); the child wipes the token secrets, frees the
 * opened private keys it safely can, and marks the state as its parent's,
 * so its C_Initialize starts over and its C_Finalize touches nothing the
 * parent owns. */
#include "state.h"

#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "session.h"
#include "token.h"

#include <sodium.h>
#include <string.h>
#include <unistd.h>

static void before_fork(void)
{
    mt_lock();
    mt_store_lock();
}

static void in_parent(void)
{
    mt_store_unlock();
    mt_unlock();
}

/* The parent's opened private keys, in the child: the sessions no call was
 * in at the fork drop their operations and kept contexts, then each key only
 * its object still holds is freed (OpenSSL clears a key's numbers as it
 * frees them).  A key with another holder was in an operation of another
 * thread, which does not exist in the child and may have held the key's
 * lock: it is left alone, as is what the host process copied of a key
 * itself (docs/pkcs11.md, "Forks and core dumps"). */
static void drop_opened_keys(mt_token_state *token)
{
    for (size_t i = 0; i < mt_g.n_sessions; i++) {
        mt_session *s = mt_g.sessions[i];
        if (s->token != token || s->refs != 0)
            continue;
        mt_op_reset(&s->ops[MT_OP_SIGN]);
        mt_op_reset(&s->ops[MT_OP_DECRYPT]);
    }
    mt_sessions_drop_warm(token);
    for (size_t i = 0; token->objects && i < token->objects->n; i++) {
        mt_object *object = token->objects->items[i];
        if (object->priv && atomic_load(&object->priv->refs) == 1) {
            mt_key_unref(object->priv);
            object->priv = NULL;
        }
    }
}

static void in_child(void)
{
    for (size_t i = 0; i < mt_g.n_slots; i++) {
        mt_token_state *token = mt_g.slots[i]->token;
        if (!token)
            continue;
        if (token->token_secret)
            sodium_memzero(token->token_secret->data, token->token_secret->len);
        if (token->so_pin)
            sodium_memzero(token->so_pin->data, token->so_pin->len);
        drop_opened_keys(token);
        token->login = MT_NOT_LOGGED_IN;
    }
    mt_keymem_wipe_all();
    mt_fork_mark_child();
    mt_store_unlock();
    mt_unlock();
}

static void register_handlers(void)
{
    pthread_atfork(before_fork, in_parent, in_child);
}

void mt_fork_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_handlers);
}
