/* C_Initialize, C_GetInfo, C_Finalize: what every client does first and last. */
#include "p11diff.h"

#include <p11-kit/p11-kit.h>
#include <stdio.h>

static void note_info(p11d_ctx *ctx)
{
    CK_INFO info;
    CK_RV rv = ctx->f->C_GetInfo(&info);
    p11d_note_rv(ctx->log, "C_GetInfo.rv", rv);
    if (rv != CKR_OK)
        return;
    p11d_note(ctx->log, "C_GetInfo.cryptokiVersion", "%u.%u", info.cryptokiVersion.major,
              info.cryptokiVersion.minor);
    p11d_note(ctx->log, "C_GetInfo.flags", "0x%lx", (unsigned long)info.flags);
    p11d_note(ctx->log, "C_GetInfo.manufacturerID", "%.*s",
              (int)p11_kit_space_strlen(info.manufacturerID, sizeof(info.manufacturerID)),
              info.manufacturerID);
    p11d_note(ctx->log, "C_GetInfo.libraryDescription", "%.*s",
              (int)p11_kit_space_strlen(info.libraryDescription, sizeof(info.libraryDescription)),
              info.libraryDescription);
    p11d_note(ctx->log, "C_GetFunctionList.version", "%u.%u", ctx->f->version.major,
              ctx->f->version.minor);
}

bool p11d_scn_general(p11d_ctx *ctx)
{
    CK_INFO info;
    p11d_note_rv(ctx->log, "C_GetInfo.before_initialize", ctx->f->C_GetInfo(&info));

    /* NSS, p11-kit and OpenSSL's provider all ask for OS locking. */
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_RV rv = ctx->f->C_Initialize(&args);
    p11d_note_rv(ctx->log, "C_Initialize.os_locking", rv);
    if (rv != CKR_OK)
        return false;
    p11d_note_rv(ctx->log, "C_Initialize.again", ctx->f->C_Initialize(&args));

    note_info(ctx);
    p11d_note_rv(ctx->log, "C_GetInfo.null", ctx->f->C_GetInfo(NULL));
    p11d_note_rv(ctx->log, "C_Finalize.reserved_not_null", ctx->f->C_Finalize(&info));
    return true;
}

static CK_RV refuse_mutex(CK_VOID_PTR_PTR mutex)
{
    *mutex = NULL;
    return CKR_GENERAL_ERROR;
}

bool p11d_scn_finalize(p11d_ctx *ctx)
{
    CK_INFO info;
    p11d_note_rv(ctx->log, "C_Finalize.rv", ctx->f->C_Finalize(NULL));
    p11d_note_rv(ctx->log, "C_GetInfo.after_finalize", ctx->f->C_GetInfo(&info));
    p11d_note_rv(ctx->log, "C_Finalize.again", ctx->f->C_Finalize(NULL));

    /* Some mutex callbacks but not all: the specification says CKR_ARGUMENTS_BAD. */
    CK_C_INITIALIZE_ARGS partial = { .CreateMutex = refuse_mutex };
    CK_RV rv = ctx->f->C_Initialize(&partial);
    p11d_note_rv(ctx->log, "C_Initialize.partial_callbacks", rv);
    if (rv == CKR_OK)
        ctx->f->C_Finalize(NULL);
    rv = ctx->f->C_Initialize(NULL);
    p11d_note_rv(ctx->log, "C_Initialize.null_args", rv);
    if (rv == CKR_OK)
        ctx->f->C_Finalize(NULL);
    return true;
}
