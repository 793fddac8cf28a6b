/* C_Initialize, C_Finalize, C_GetInfo, the function lists and interfaces. */
#include "calls.h"

#include "crypto.h"
#include "init.h"
#include "rv.h"
#include "session.h"
#include "state.h"
#include "token.h"
#include "trace.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Mutex callbacks without CKF_OS_LOCKING_OK cannot be honoured: our locks
 * are pthread ones.  The arguments and the reserved string come as copies
 * (init_args.c). */
static CK_RV check_init_args(const void *init_args, char **reserved)
{
    CK_C_INITIALIZE_ARGS copy, *args = &copy;
    *reserved = NULL;
    if (!init_args)
        return CKR_OK;
    if (mt_init_args_copy(init_args, &copy) != CKR_OK)
        return CKR_ARGUMENTS_BAD;
    int callbacks = !!args->CreateMutex + !!args->DestroyMutex + !!args->LockMutex +
                    !!args->UnlockMutex;
    if (callbacks != 0 && callbacks != 4)
        return CKR_ARGUMENTS_BAD;
    if (callbacks == 4 && !(args->flags & CKF_OS_LOCKING_OK))
        return CKR_CANT_LOCK;
    /* p11-kit (x-init-reserved) and NSS (module parameters) pass a string here */
    return mt_init_reserved_copy(args->pReserved, reserved);
}

static CK_RV load_filter(const char *reserved)
{
    mt_account_filter env = {0}, init = {0}, both = {0};
    CK_RV rv = CKR_OK;
    const char *text = getenv("MAILTOKEN_ACCOUNTS");
    if (text && *text && mt_filter_parse(text, &env) != MT_OK) {
        mt_trace("C_Initialize: MAILTOKEN_ACCOUNTS: %s", mt_errmsg());
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    rv = mt_filter_from_init_string(reserved, &init);
    if (rv != CKR_OK)
        goto out;
    if (mt_filter_intersect(&mt_g.config->filter, &env, &both) != MT_OK ||
        mt_filter_intersect(&both, &init, &mt_g.filter) != MT_OK)
        rv = CKR_HOST_MEMORY;
out:
    mt_filter_clear(&env);
    mt_filter_clear(&init);
    mt_filter_clear(&both);
    return rv;
}

CK_RV mt_initialize(CK_VOID_PTR init_args)
{
    char *reserved = NULL;
    CK_RV rv = check_init_args(init_args, &reserved);
    if (rv != CKR_OK)
        return rv;
    mt_lock();
    if (mt_forked())
        mt_fork_start_over();
    if (mt_g.initialised) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    mt_trace_configure(NULL);
    if (mt_library_init() != MT_OK) {
        mt_trace("C_Initialize: %s", mt_errmsg());
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    mt_fork_register();
    mt_openssl_watch();
    rv = mt_crypto_init();
    if (rv != CKR_OK)
        goto out;
    if (mt_config_load(NULL, &mt_g.config) != MT_OK) {
        mt_trace("C_Initialize: %s", mt_errmsg());
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    mt_trace_configure(mt_g.config->debug);
    rv = load_filter(reserved);
    if (rv != CKR_OK)
        goto out;
    if (mt_config_store_path(mt_g.config, &mt_g.store_path) != MT_OK) {
        mt_trace("C_Initialize: %s", mt_errmsg());
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    mt_g.pid = getpid();
    mt_g.next_session = 1;
    mt_g.initialised = true;
    rv = mt_slots_rescan();
    if (rv != CKR_OK) {
        mt_g.initialised = false;
        goto out;
    }
out:
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        mt_slots_free();
        mt_crypto_free();
        mt_filter_clear(&mt_g.filter);
        mt_config_free(mt_g.config);
        mt_g.config = NULL;
        free(mt_g.store_path);
        mt_g.store_path = NULL;
    }
    mt_unlock();
    free(reserved);
    return rv;
}

CK_RV mt_finalize(CK_VOID_PTR reserved)
{
    if (reserved)
        return CKR_ARGUMENTS_BAD;
    mt_lock();
    if (mt_forked()) {
        mt_fork_start_over();
        mt_unlock();
        return CKR_OK;
    }
    if (!mt_g.initialised) {
        mt_unlock();
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    mt_g.initialised = false;
    mt_sessions_free();
    mt_slots_free();
    free(mt_g.events);
    mt_g.events = NULL;
    mt_g.n_events = 0;
    mt_store_lock();
    mt_store_close(mt_g.store);
    mt_g.store = NULL;
    mt_store_unlock();
    mt_crypto_free(); /* after every key */
    mt_filter_clear(&mt_g.filter);
    mt_config_free(mt_g.config);
    mt_g.config = NULL;
    free(mt_g.store_path);
    mt_g.store_path = NULL;
    mt_g.generation_known = false;
    mt_unlock();
    return CKR_OK;
}

/* A slot call (info is set). */
CK_RV mt_get_info(CK_INFO_PTR info)
{
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = 3;
    info->cryptokiVersion.minor = 0;
    mt_pad(info->manufacturerID, sizeof(info->manufacturerID), MT_MANUFACTURER);
    mt_pad(info->libraryDescription, sizeof(info->libraryDescription), MT_LIBRARY_DESCRIPTION);
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
    return CKR_OK;
}

static CK_INTERFACE interfaces[] = {
    {(CK_CHAR *)"PKCS 11", &mt_function_list_3_0, CKF_INTERFACE_FORK_SAFE},
    {(CK_CHAR *)"PKCS 11", &mt_function_list, CKF_INTERFACE_FORK_SAFE},
};
#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

CK_RV mt_get_interface_list(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
    if (!count)
        return CKR_ARGUMENTS_BAD;
    if (!list) {
        *count = N_INTERFACES;
        return CKR_OK;
    }
    if (*count < N_INTERFACES) {
        *count = N_INTERFACES;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(list, interfaces, sizeof(interfaces));
    *count = N_INTERFACES;
    return CKR_OK;
}

CK_RV mt_get_interface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR out,
                       CK_FLAGS flags)
{
    if (!out)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < N_INTERFACES; i++) {
        const CK_VERSION *v = interfaces[i].pFunctionList;
        if (name && strcmp((const char *)name, (const char *)interfaces[i].pInterfaceName) != 0)
            continue;
        if (version && (version->major != v->major || version->minor != v->minor))
            continue;
        if ((interfaces[i].flags & flags) != flags)
            continue;
        *out = &interfaces[i];
        return CKR_OK;
    }
    return CKR_ARGUMENTS_BAD;
}
