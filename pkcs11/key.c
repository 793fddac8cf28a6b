/* Key handles the module owns.  Objects of the index and running operations
 * each hold a reference; an index rebuild or a logout drops only its own, so
 * an operation running without the module lock keeps its key alive.  The
 * count is the module's own C11 atomic: the release/acquire pair orders every
 * use of the key before its free, visibly to the compiler and sanitizers
 * (libcrypto's internal counters are not instrumented). */
#include "crypto.h"

#include "state.h"

#include <stdlib.h>

mt_key *mt_key_new(EVP_PKEY *pkey)
{
    mt_key *key = pkey ? malloc(sizeof(*key)) : NULL;
    if (!key) {
        if (!mt_openssl_down)
            EVP_PKEY_free(pkey);
        return NULL;
    }
    atomic_init(&key->refs, 1);
    key->pkey = pkey;
    return key;
}

mt_key *mt_key_ref(mt_key *key)
{
    if (key)
        atomic_fetch_add_explicit(&key->refs, 1, memory_order_relaxed);
    return key;
}

void mt_key_unref(mt_key *key)
{
    if (!key || atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* after OpenSSL's own cleanup its objects are gone with it */
    if (!mt_openssl_down)
        EVP_PKEY_free(key->pkey);
    free(key);
}
