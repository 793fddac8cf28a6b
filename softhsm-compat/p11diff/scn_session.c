/* Sessions and login: the states and error paths every client walks through. */
#include "p11diff.h"

#include <stdio.h>
#include <string.h>

#define BOGUS_SESSION ((CK_SESSION_HANDLE)0x7ffffff1UL)

static void note_session_info(p11d_ctx *ctx, const char *key, CK_SESSION_HANDLE session)
{
    CK_SESSION_INFO info;
    char flags[128];
    CK_RV rv = ctx->f->C_GetSessionInfo(session, &info);
    if (rv != CKR_OK) {
        p11d_note_rv(ctx->log, key, rv);
        return;
    }
    p11d_flags_names('i', info.flags, flags, sizeof(flags));
    p11d_note(ctx->log, key, "state=%lu %s slot=%s", (unsigned long)info.state, flags,
              info.slotID == ctx->slot ? "same" : "other");
}

static void note_token_flags(p11d_ctx *ctx, const char *key)
{
    CK_TOKEN_INFO info;
    CK_RV rv = ctx->f->C_GetTokenInfo(ctx->slot, &info);
    if (rv != CKR_OK)
        p11d_note_rv(ctx->log, key, rv);
    else
        p11d_note_flags(ctx->log, key, 't', info.flags);
}

bool p11d_scn_session(p11d_ctx *ctx)
{
    CK_SESSION_HANDLE ro = 0, rw = 0, extra = 0;
    p11d_note_rv(ctx->log, "C_OpenSession.not_serial",
                 ctx->f->C_OpenSession(ctx->slot, 0, NULL, NULL, &extra));
    p11d_note_rv(ctx->log, "C_OpenSession.null_handle",
                 ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION, NULL, NULL, NULL));
    p11d_note_rv(ctx->log, "C_OpenSession.bogus_slot",
                 ctx->f->C_OpenSession(0x7ffffff0UL, CKF_SERIAL_SESSION, NULL, NULL, &extra));
    CK_RV rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
    p11d_note_rv(ctx->log, "C_OpenSession.read_only", rv);
    if (rv != CKR_OK)
        return false;
    note_session_info(ctx, "C_GetSessionInfo.read_only", ro);
    /* NSS passes itself as pApplication with a notify callback. */
    rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, ctx, NULL, &rw);
    p11d_note_rv(ctx->log, "C_OpenSession.read_write", rv);
    note_session_info(ctx, "C_GetSessionInfo.read_write", rw);
    p11d_note(ctx->log, "C_OpenSession.distinct_handles", "%s", ro != rw ? "yes" : "no");
    note_session_info(ctx, "C_GetSessionInfo.bogus", BOGUS_SESSION);
    p11d_note_rv(ctx->log, "C_CloseSession.bogus", ctx->f->C_CloseSession(BOGUS_SESSION));
    p11d_note_rv(ctx->log, "C_CloseSession.read_write", ctx->f->C_CloseSession(rw));
    p11d_note_rv(ctx->log, "C_CloseSession.twice", ctx->f->C_CloseSession(rw));
    note_session_info(ctx, "C_GetSessionInfo.closed", rw);
    p11d_note_rv(ctx->log, "C_CloseAllSessions.rv", ctx->f->C_CloseAllSessions(ctx->slot));
    note_session_info(ctx, "C_GetSessionInfo.after_close_all", ro);
    p11d_note_rv(ctx->log, "C_CloseAllSessions.bogus_slot",
                 ctx->f->C_CloseAllSessions(0x7ffffff0UL));
    return true;
}

bool p11d_scn_login(p11d_ctx *ctx)
{
    static const char wrong[] = "wrong-pin-0000";
    CK_SESSION_HANDLE s = 0, s2 = 0;
    CK_RV rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return false;
    p11d_note_rv(ctx->log, "C_Logout.not_logged_in", ctx->f->C_Logout(s));
    p11d_note_rv(ctx->log, "C_Login.bad_user_type",
                 ctx->f->C_Login(s, 99, (CK_UTF8CHAR_PTR)ctx->pin, ctx->pin_len));
    p11d_note_rv(ctx->log, "C_Login.null_pin", ctx->f->C_Login(s, CKU_USER, NULL, 4));
    p11d_note_rv(ctx->log, "C_Login.wrong_pin",
                 ctx->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)wrong, strlen(wrong)));
    note_token_flags(ctx, "token.after_wrong_pin.flags");
    p11d_note_rv(ctx->log, "C_Login.bogus_session",
                 ctx->f->C_Login(BOGUS_SESSION, CKU_USER, (CK_UTF8CHAR_PTR)ctx->pin, ctx->pin_len));
    p11d_note_rv(ctx->log, "C_Login.user",
                 ctx->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)ctx->pin, ctx->pin_len));
    note_token_flags(ctx, "token.after_login.flags");
    note_session_info(ctx, "C_GetSessionInfo.logged_in_read_only", s);
    /* Login state belongs to the application: a new session is logged in too. */
    rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s2);
    p11d_note_rv(ctx->log, "C_OpenSession.read_write_after_login", rv);
    note_session_info(ctx, "C_GetSessionInfo.logged_in_read_write", s2);
    p11d_note_rv(ctx->log, "C_Login.user_again",
                 ctx->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)ctx->pin, ctx->pin_len));
    p11d_note_rv(ctx->log, "C_Login.so_while_user",
                 ctx->f->C_Login(s2, CKU_SO, (CK_UTF8CHAR_PTR)wrong, strlen(wrong)));
    p11d_note_rv(ctx->log, "C_Logout.rv", ctx->f->C_Logout(s2));
    note_session_info(ctx, "C_GetSessionInfo.after_logout", s);
    p11d_note_rv(ctx->log, "C_Logout.again", ctx->f->C_Logout(s));
    p11d_note_rv(ctx->log, "C_Login.so_read_only_session_exists",
                 ctx->f->C_Login(s2, CKU_SO, (CK_UTF8CHAR_PTR)wrong, strlen(wrong)));
    CK_UTF8CHAR_PTR pin = (CK_UTF8CHAR_PTR)ctx->pin;
    p11d_note_rv(ctx->log, "C_SetPIN.not_logged_in_wrong_old",
                 ctx->f->C_SetPIN(s2, (CK_UTF8CHAR_PTR)wrong, strlen(wrong), pin, ctx->pin_len));
    p11d_note_rv(ctx->log, "C_InitPIN.not_so", ctx->f->C_InitPIN(s2, pin, ctx->pin_len));
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    p11d_note_rv(ctx->log, "C_InitToken.sessions_open",
                 ctx->f->C_InitToken(ctx->slot, (CK_UTF8CHAR_PTR)wrong, strlen(wrong), label));
    ctx->f->C_CloseSession(s2);
    ctx->f->C_CloseSession(s);
    return true;
}
