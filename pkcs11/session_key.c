/* A session's own copy of each opened RSA private key it uses.  OpenSSL
 * blinds every RSA private operation with state kept in the key: the
 * thread that made it uses it freely, any other thread takes the key's
 * blinding lock.  Sessions sharing the object's one key therefore queue on
 * that lock (RSA with 2 threads scaled 1.5x where OpenSSL with a key per
 * thread scales 1.8x); a copy per session is a key per thread for the usual
 * client, which gives each thread its session.  Copies are private keys
 * like the originals: they go with the session's other private-key state
 * at logout (mt_session_keys_drop) and fork. */
#include "session.h"

#include "crypto.h"

#include <stdlib.h>

CK_RV mt_session_key(mt_session *session, mt_key *opened, mt_key **out)
{
    if (EVP_PKEY_get_base_id(opened->pkey) != EVP_PKEY_RSA) {
        *out = mt_key_ref(opened); /* no shared blinding: nothing to gain */
        return CKR_OK;
    }
    for (size_t i = 0; i < session->n_keys; i++) {
        if (session->keys[i].opened == opened) {
            *out = mt_key_ref(session->keys[i].copy);
            return CKR_OK;
        }
    }
    mt_session_key_pair *keys = realloc(session->keys, (session->n_keys + 1) * sizeof(*keys));
    if (!keys)
        return CKR_HOST_MEMORY;
    session->keys = keys;
    /* a key OpenSSL cannot copy (an ENGINE the host made RSA's default
     * holds it: see crypto.c) is shared, as before */
    EVP_PKEY *dup = EVP_PKEY_dup(opened->pkey);
    mt_key *copy = dup ? mt_key_new(dup) : mt_key_ref(opened);
    if (!copy)
        return CKR_HOST_MEMORY;
    /* the pair holds the original too: its address cannot name another key */
    keys[session->n_keys++] = (mt_session_key_pair){mt_key_ref(opened), copy};
    *out = mt_key_ref(copy);
    return CKR_OK;
}

void mt_session_keys_drop(mt_session *session)
{
    for (size_t i = 0; i < session->n_keys; i++) {
        mt_key_unref(session->keys[i].copy);
        mt_key_unref(session->keys[i].opened);
    }
    free(session->keys);
    session->keys = NULL;
    session->n_keys = 0;
}
