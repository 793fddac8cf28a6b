/* Chains of stored certificates (cert_chain.c), shared by certificate import
 * and renewal installation. */
#ifndef MT_STORE_CHAIN_H
#define MT_STORE_CHAIN_H

#include "db.h"

/* Issuer certificates, leaf-most first; owns the DER copies. */
typedef struct mt_chain {
    mt_blob *certs;
    size_t n;
} mt_chain;

void mt_chain_clear(mt_chain *chain);
/* Appends copies of DER certificates. */
mt_status mt_chain_append(mt_chain *chain, const mt_blob *certs, size_t n);
/* The stored chain of a certificate. */
mt_status mt_chain_load(mt_store *store, int64_t cert_id, mt_chain *chain);
/* Stores certs as the chain of cert_id from position `first` on (issuer
 * certificates are shared between certificates). */
mt_status mt_chain_insert(mt_store *store, int64_t cert_id, const mt_blob *certs, size_t n,
                          size_t first);
/* Extends a chain (of the certificate leaf) that stops short of a root with
 * the organisation's stored CA certificates, checked by signature. */
mt_status mt_chain_complete(mt_store *store, int64_t org_id, const uint8_t *leaf,
                            size_t leaf_len, mt_chain *chain, size_t *added);
/* Stores `chain` for a certificate whose stored chain is shorter (the common
 * prefix stays), with a cert.chain event; *replaced false when not longer;
 * *n_stored: the chain's length afterwards. */
mt_status mt_chain_replace(mt_store *store, int64_t org_id, int64_t cert_id,
                           const mt_chain *chain, bool *replaced, size_t *n_stored);
/* A CA certificate just stored: appended (with its own chain) to the chain of
 * every certificate of the organisation whose chain stops at its subject. */
mt_status mt_chain_extend_by(mt_store *store, int64_t org_id, int64_t ca_id,
                             const mt_cert_info *ca_info, const mt_chain *ca_chain,
                             size_t *n_extended);
/* Deletes issuer certificates no stored certificate refers to any more. */
mt_status mt_chain_drop_unused(mt_store *store);

#endif
