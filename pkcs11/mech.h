/* The mechanism table (mech.c): what each mechanism does, on which keys, with which parameters. */
#ifndef MT_PKCS11_MECH_H
#define MT_PKCS11_MECH_H

#include "attr.h"
#include "crypto.h"
#include "object.h"
#include "pkcs11_v3.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mt_op_kind {
    MT_OP_SIGN = 0,
    MT_OP_VERIFY,
    MT_OP_ENCRYPT,
    MT_OP_DECRYPT,
    MT_OP_DIGEST,
    MT_OP_COUNT
} mt_op_kind;

/* Parameters checked and decoded from a CK_MECHANISM. */
typedef struct mt_mech_params {
    const EVP_MD *md;        /* hash (PSS, OAEP, hashed mechanisms, digest) */
    const EVP_MD *mgf1_md;
    int salt_len;            /* PSS */
    uint8_t *label;          /* OAEP source data (malloc) */
    size_t label_len;
    uint8_t iv[16];          /* AES: CBC's IV, the key wraps' initial value */
    size_t iv_len;
} mt_mech_params;

typedef struct mt_mech mt_mech;
struct mt_mech {
    CK_MECHANISM_TYPE type;
    CK_KEY_TYPE key_type;    /* CKK_RSA, CKK_EC, or MT_NO_KEY */
    CK_FLAGS flags;          /* CKF_SIGN, CKF_DECRYPT... as reported by C_GetMechanismInfo */
    CK_ULONG min_bits, max_bits;
    int padding;             /* RSA padding mode, 0 otherwise */
    const char *digest;      /* hash of a hash-and-sign or digest mechanism, else NULL */
    CK_RV (*check_params)(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);
    mt_aes_mode aes;         /* AES mechanisms: the mode */
};

#define MT_NO_KEY ((CK_KEY_TYPE)-1)
/* Key sizes of the table: bits for RSA and EC keys, bytes for AES keys (as
 * CK_MECHANISM_INFO gives them). */

const mt_mech *mt_mech_find(CK_MECHANISM_TYPE type);
size_t mt_mech_count(void);
const mt_mech *mt_mech_at(size_t i);
void mt_mech_params_clear(mt_mech_params *params);
/* Finds the mechanism, checks that it does `flag` on this key type and size, decodes params. */
CK_RV mt_mech_resolve(const CK_MECHANISM *m, CK_FLAGS flag, const mt_object *key,
                      const mt_mech **mech, mt_mech_params *params);
/* Configures an EVP_PKEY_CTX (padding, PSS, OAEP) for the mechanism. */
CK_RV mt_mech_setup_pkey_ctx(const mt_mech *mech, const mt_mech_params *params,
                             EVP_PKEY_CTX *ctx, bool with_md);
/* Fills CKA_ALLOWED_MECHANISMS for a key type doing any of `flags`. */
CK_RV mt_mech_allowed(CK_KEY_TYPE key_type, CK_FLAGS flags, mt_attr_list *attrs);

#endif
