/* C_GenerateRandom from the DRBG of the module's OpenSSL context (never an
 * ENGINE's); seeding is the DRBG's own business. */
#include "calls.h"

#include "call.h"
#include "state.h"

#include <openssl/rand.h>

CK_RV mt_generate_random(mt_call *call, CK_BYTE_PTR out, CK_ULONG len)
{
    (void)call;
    if (!out && len > 0)
        return CKR_ARGUMENTS_BAD;
    if (len > 0x7fffffffUL)
        return CKR_ARGUMENTS_BAD;
    if (len > 0 && RAND_bytes_ex(mt_g.libctx, out, len, 0) != 1)
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

CK_RV mt_seed_random(mt_call *call, CK_BYTE_PTR seed, CK_ULONG len)
{
    (void)call;
    if (!seed && len > 0)
        return CKR_ARGUMENTS_BAD;
    return CKR_RANDOM_SEED_NOT_SUPPORTED;
}
