/* C_GetTokenInfo and the mechanism queries of a slot. */
#include "token.h"

#include "calls.h"
#include "mech.h"
#include "rv.h"
#include "state.h"

#include <string.h>

/* The token's details are read when it is used, never at start-up: the
 * failure counter changes without a new account, so always fresh. */
static void refresh_pin_state(mt_token_state *token)
{
    mt_token *record = NULL;
    mt_store_lock();
    if (mt_g.store && mt_store_token_get(mt_g.store, token->token_id, &record) == MT_OK) {
        token->failed_logins = record->failed_logins;
        token->max_failures = record->max_failures;
        token->so_failed_logins = record->so_failed_logins;
        token->so_max_failures = record->so_max_failures;
        token->pin_set = record->pin_set;
        token->n_private_keys = record->n_private_keys;
    }
    mt_store_unlock();
    mt_token_free(record);
}

/* The COUNT_LOW, FINAL_TRY and LOCKED flags of one PIN (user or SO: the SO
 * flags are the user ones shifted left by 4). */
static CK_FLAGS counter_flags(unsigned failed, unsigned max)
{
    CK_FLAGS flags = 0;
    if (failed > 0)
        flags |= CKF_USER_PIN_COUNT_LOW;
    if (max > 0 && failed + 1 == max)
        flags |= CKF_USER_PIN_FINAL_TRY;
    if (max > 0 && failed >= max)
        flags |= CKF_USER_PIN_LOCKED;
    return flags;
}

static CK_FLAGS pin_flags(const mt_token_state *token)
{
    return counter_flags(token->failed_logins, token->max_failures) |
           counter_flags(token->so_failed_logins, token->so_max_failures) << 4;
}

/* Slot calls (mt_call_begin_slot): initialised, arguments there, locked. */
CK_RV mt_get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
    mt_token_state *token = NULL;
    CK_RV rv = mt_slot_token(id, &token);
    if (rv != CKR_OK)
        return rv;
    refresh_pin_state(token);
    char label[33], serial[17];
    mt_token_label(token->email, label);
    mt_token_serial(token->org_id, token->token_id, serial);
    memset(info, 0, sizeof(*info));
    mt_pad(info->label, sizeof(info->label), label);
    mt_pad(info->manufacturerID, sizeof(info->manufacturerID), MT_MANUFACTURER);
    mt_pad(info->model, sizeof(info->model), MT_MODEL);
    mt_pad(info->serialNumber, sizeof(info->serialNumber), serial);
    info->flags = CKF_TOKEN_INITIALIZED | CKF_RNG | CKF_WRITE_PROTECTED | pin_flags(token);
    if (token->pin_set)
        info->flags |= CKF_USER_PIN_INITIALIZED;
    if (token->n_private_keys > 0)
        info->flags |= CKF_LOGIN_REQUIRED;
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = token->sessions;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = token->rw_sessions;
    info->ulMaxPinLen = 256;
    info->ulMinPinLen = mt_g.config ? mt_g.config->pin_min_length : 8;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion.minor = 1;
    mt_pad(info->utcTime, sizeof(info->utcTime), "");
    return CKR_OK;
}

/* Mechanism queries make no token state. */
CK_RV mt_get_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    CK_RV rv = mt_slot_present(id);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n = (CK_ULONG)mt_mech_count();
    if (list) {
        if (*count < n) {
            *count = n;
            return CKR_BUFFER_TOO_SMALL;
        }
        for (CK_ULONG i = 0; i < n; i++)
            list[i] = mt_mech_at(i)->type;
    }
    *count = n;
    return CKR_OK;
}

CK_RV mt_get_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
    CK_RV rv = mt_slot_present(id);
    if (rv != CKR_OK)
        return rv;
    const mt_mech *mech = mt_mech_find(type);
    if (!mech)
        return CKR_MECHANISM_INVALID;
    info->ulMinKeySize = mech->min_bits;
    info->ulMaxKeySize = mech->max_bits;
    info->flags = mech->flags;
    return CKR_OK;
}
