/* Checking what a CA returned before it may become a primary. */
#ifndef MT_RENEW_ISSUED_H
#define MT_RENEW_ISSUED_H

#include "mailtoken/store.h"

typedef struct mt_issued {
    uint8_t *leaf_der;
    size_t leaf_len;
    char *chain_pem;   /* the verified issuer chain, leaf-most first */
} mt_issued;

/* Finds the leaf among the PEM certificates by the candidate key (never by
 * position), then checks: it names email, allows emailProtection, and chains
 * to a trust anchor (trust_file, else the system store) through the other
 * certificates given.  MT_ERR_INVALID with a message saying what is wrong. */
mt_status mt_renew_check_issued(const char *pem_text, const uint8_t *spki, size_t spki_len,
                                const char *email, const char *trust_file, mt_issued *out);
void mt_issued_clear(mt_issued *issued);
/* True when one of the PEM certificates is for this SubjectPublicKeyInfo. */
bool mt_renew_pem_has_key(const char *pem_text, const uint8_t *spki, size_t spki_len);
/* PEM certificates to DER blobs (for mt_store_renewal_install). */
mt_status mt_renew_pem_to_blobs(const char *pem, mt_blob **out, size_t *n);
void mt_renew_blobs_free(mt_blob *blobs, size_t n);

#endif
