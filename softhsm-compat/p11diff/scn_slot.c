/* Slots, the token's info and flags, and the mechanism list. */
#include "p11diff.h"

#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOGUS_SLOT ((CK_SLOT_ID)0x7ffffff0UL)

/* Selects the slot whose token carries ctx->label. */
static CK_RV select_slot(p11d_ctx *ctx)
{
    CK_ULONG n = 0;
    CK_RV rv = ctx->f->C_GetSlotList(CK_TRUE, NULL, &n);
    p11d_note_rv(ctx->log, "C_GetSlotList.size_query", rv);
    if (rv != CKR_OK)
        return rv;
    CK_SLOT_ID *slots = calloc(n + 1, sizeof(*slots));
    if (!slots)
        return CKR_HOST_MEMORY;
    if (n > 0) {
        CK_ULONG small = 0;
        p11d_note_rv(ctx->log, "C_GetSlotList.buffer_too_small",
                     ctx->f->C_GetSlotList(CK_TRUE, slots, &small));
        p11d_note(ctx->log, "C_GetSlotList.buffer_too_small.count_returned", "%s",
                  small == n ? "equal" : "different");
    }
    rv = ctx->f->C_GetSlotList(CK_TRUE, slots, &n);
    p11d_note_rv(ctx->log, "C_GetSlotList.rv", rv);
    free(slots);
    ctx->have_slot = p11d_find_slot(ctx->f, ctx->label, &ctx->slot);
    p11d_note(ctx->log, "token.found_by_label", "%s", ctx->have_slot ? "yes" : "no");
    return ctx->have_slot ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static void note_version(p11d_ctx *ctx, const char *key, CK_VERSION v)
{
    p11d_note(ctx->log, key, "%u.%u", v.major, v.minor);
}

/* Memory and session counts: modules may say "unavailable", "infinite" or a number. */
static void note_count(p11d_ctx *ctx, const char *key, CK_ULONG value)
{
    if (value == CK_UNAVAILABLE_INFORMATION)
        p11d_note(ctx->log, key, "unavailable");
    else if (value == CK_EFFECTIVELY_INFINITE)
        p11d_note(ctx->log, key, "effectively-infinite");
    else
        p11d_note(ctx->log, key, "number");
}

static void note_token_info(p11d_ctx *ctx)
{
    CK_TOKEN_INFO info;
    CK_RV rv = ctx->f->C_GetTokenInfo(ctx->slot, &info);
    p11d_note_rv(ctx->log, "C_GetTokenInfo.rv", rv);
    if (rv != CKR_OK)
        return;
    p11d_note_flags(ctx->log, "token.flags", 't', info.flags);
    p11d_note(ctx->log, "token.manufacturerID", "%.*s",
              (int)p11_kit_space_strlen(info.manufacturerID, sizeof(info.manufacturerID)),
              info.manufacturerID);
    p11d_note(ctx->log, "token.model", "%.*s",
              (int)p11_kit_space_strlen(info.model, sizeof(info.model)), info.model);
    size_t serial_len = p11_kit_space_strlen(info.serialNumber, sizeof(info.serialNumber));
    p11d_note(ctx->log, "token.serialNumber", "%s", serial_len ? "present" : "empty");
    note_count(ctx, "token.ulMaxSessionCount", info.ulMaxSessionCount);
    note_count(ctx, "token.ulMaxRwSessionCount", info.ulMaxRwSessionCount);
    note_count(ctx, "token.ulTotalPublicMemory", info.ulTotalPublicMemory);
    note_count(ctx, "token.ulFreePublicMemory", info.ulFreePublicMemory);
    p11d_note(ctx->log, "token.ulSessionCount", "%lu", (unsigned long)info.ulSessionCount);
    p11d_note(ctx->log, "token.ulMinPinLen", "%lu", (unsigned long)info.ulMinPinLen);
    p11d_note(ctx->log, "token.ulMaxPinLen", "%lu", (unsigned long)info.ulMaxPinLen);
    note_version(ctx, "token.hardwareVersion", info.hardwareVersion);
    note_version(ctx, "token.firmwareVersion", info.firmwareVersion);
    bool clock = info.flags & CKF_CLOCK_ON_TOKEN;
    p11d_note(ctx->log, "token.utcTime", "%s",
              !clock ? "not-used" : (info.utcTime[0] >= '0' && info.utcTime[0] <= '9' ? "digits"
                                                                                      : "bad"));
}

bool p11d_scn_slot(p11d_ctx *ctx)
{
    if (select_slot(ctx) != CKR_OK)
        return false;

    CK_SLOT_INFO slot;
    CK_RV rv = ctx->f->C_GetSlotInfo(ctx->slot, &slot);
    p11d_note_rv(ctx->log, "C_GetSlotInfo.rv", rv);
    if (rv == CKR_OK) {
        p11d_note_flags(ctx->log, "slot.flags", 's', slot.flags);
        p11d_note(ctx->log, "slot.id_fits_int32", "%s", ctx->slot <= 0x7fffffffUL ? "yes" : "no");
    }
    p11d_note_rv(ctx->log, "C_GetSlotInfo.bogus_slot", ctx->f->C_GetSlotInfo(BOGUS_SLOT, &slot));
    p11d_note_rv(ctx->log, "C_GetSlotInfo.null", ctx->f->C_GetSlotInfo(ctx->slot, NULL));
    note_token_info(ctx);
    CK_TOKEN_INFO token;
    p11d_note_rv(ctx->log, "C_GetTokenInfo.bogus_slot", ctx->f->C_GetTokenInfo(BOGUS_SLOT, &token));
    CK_SLOT_ID event_slot;
    p11d_note_rv(ctx->log, "C_WaitForSlotEvent.dont_block",
                 ctx->f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, NULL));
    return true;
}

bool p11d_scn_mechanisms(p11d_ctx *ctx)
{
    CK_ULONG n = 0;
    CK_RV rv = ctx->f->C_GetMechanismList(ctx->slot, NULL, &n);
    p11d_note_rv(ctx->log, "C_GetMechanismList.size_query", rv);
    if (rv != CKR_OK)
        return true;
    CK_MECHANISM_TYPE *mechs = calloc(n + 1, sizeof(*mechs));
    if (!mechs)
        return false;
    if (n > 0) {
        CK_ULONG small = n - 1;
        p11d_note_rv(ctx->log, "C_GetMechanismList.buffer_too_small",
                     ctx->f->C_GetMechanismList(ctx->slot, mechs, &small));
        p11d_note(ctx->log, "C_GetMechanismList.buffer_too_small.count_returned", "%s",
                  small == n ? "equal" : "different");
    }
    rv = ctx->f->C_GetMechanismList(ctx->slot, mechs, &n);
    p11d_note_rv(ctx->log, "C_GetMechanismList.rv", rv);
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        CK_MECHANISM_INFO info;
        char name[32], key[80], field[96];
        snprintf(key, sizeof(key), "mechanism.%s", p11d_mech_name(mechs[i], name));
        CK_RV irv = ctx->f->C_GetMechanismInfo(ctx->slot, mechs[i], &info);
        if (irv != CKR_OK) {
            p11d_note_rv(ctx->log, key, irv);
            continue;
        }
        snprintf(field, sizeof(field), "%s.ulMinKeySize", key);
        p11d_note(ctx->log, field, "%lu", (unsigned long)info.ulMinKeySize);
        snprintf(field, sizeof(field), "%s.ulMaxKeySize", key);
        p11d_note(ctx->log, field, "%lu", (unsigned long)info.ulMaxKeySize);
        snprintf(field, sizeof(field), "%s.flags", key);
        p11d_note_flags(ctx->log, field, 'm', info.flags);
    }
    free(mechs);
    CK_MECHANISM_INFO info;
    p11d_note_rv(ctx->log, "C_GetMechanismInfo.invalid",
                 ctx->f->C_GetMechanismInfo(ctx->slot, CKM_VENDOR_DEFINED | 0x1234, &info));
    return true;
}
