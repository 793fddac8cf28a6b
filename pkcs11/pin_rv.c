/* A new PIN the store's policy refused, in PKCS#11's terms: a length out
 * of the range C_GetTokenInfo reports (ulMinPinLen characters, ulMaxPinLen
 * bytes) is CKR_PIN_LEN_RANGE; any other rule broken (not UTF-8, digits
 * only) is CKR_PIN_INVALID.  The store's own check says which: the same
 * policy without its minimum length. */
#include "rv.h"

#include "state.h"

#define MAX_PIN_BYTES 256 /* ulMaxPinLen (token.c) */

CK_RV mt_pin_refused_rv(const mt_secret *pin)
{
    mt_config lengthless = {0};
    if (!pin || pin->len == 0 || pin->len > MAX_PIN_BYTES || !mt_g.config)
        return CKR_PIN_LEN_RANGE;
    lengthless = *mt_g.config; /* borrowed: nothing of it is freed here */
    lengthless.pin_min_length = 0;
    return mt_pin_policy_check(&lengthless, pin) == MT_OK ? CKR_PIN_LEN_RANGE : CKR_PIN_INVALID;
}
