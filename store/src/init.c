/* Library setup: libsodium and the OpenSSL providers, once per process. */
#include "internal.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static mt_status init_status = MT_ERR_INTERNAL;
static char init_error[256];
/* Kept for the life of the process, released when OpenSSL cleans up at exit:
 * a provider still loaded then is never torn down, and the legacy one leaks
 * the library context it made. */
static OSSL_PROVIDER *default_provider;
static OSSL_PROVIDER *legacy_provider;

static void unload_providers(void)
{
    if (legacy_provider)
        OSSL_PROVIDER_unload(legacy_provider);
    OSSL_PROVIDER_unload(default_provider);
    legacy_provider = default_provider = NULL;
}

static void library_init_once(void)
{
    if (sodium_init() < 0) {
        snprintf(init_error, sizeof(init_error), "libsodium failed to initialise");
        init_status = MT_ERR_CRYPTO;
        return;
    }
    /* Loading "legacy" explicitly stops the default provider from being loaded
     * implicitly, so both are named.  The legacy one (RC2, RC4-era P12 files)
     * is optional: without it those files fail with "unsupported". */
    default_provider = OSSL_PROVIDER_load(NULL, "default");
    if (!default_provider) {
        snprintf(init_error, sizeof(init_error), "OpenSSL default provider failed to load");
        init_status = MT_ERR_CRYPTO;
        ERR_clear_error();
        return;
    }
    legacy_provider = OSSL_PROVIDER_load(NULL, "legacy");
    OPENSSL_atexit(unload_providers);
    ERR_clear_error();
    init_status = MT_OK;
}

mt_status mt_library_init(void)
{
    if (pthread_once(&init_once, library_init_once) != 0)
        return mt_fail(MT_ERR_INTERNAL, "library initialisation failed");
    if (init_status != MT_OK)
        return mt_fail(init_status, "%s", init_error);
    return MT_OK;
}
