/* The window of Argon2id limits: what the config may ask for and what a row
 * may dictate.  A store file is not trusted to choose its own cost: limits
 * of 2^32 operations froze every login, limits of 1 turned the right PIN
 * into a counted failure. */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>

static uint64_t ops_floor(const mt_config *config)
{
    return config && config->allow_weak_kdf ? crypto_pwhash_OPSLIMIT_MIN : MT_KDF_OPS_FLOOR;
}

static uint64_t mem_floor(const mt_config *config)
{
    return config && config->allow_weak_kdf ? crypto_pwhash_MEMLIMIT_MIN : MT_KDF_MEM_FLOOR;
}

static uint64_t mem_ceiling(void)
{
    uint64_t cap = crypto_pwhash_MEMLIMIT_MAX;
    return cap < MT_KDF_MEM_CEILING ? cap : MT_KDF_MEM_CEILING;
}

bool mt_kdf_in_window(const mt_config *config, uint64_t opslimit, uint64_t memlimit)
{
    return opslimit >= ops_floor(config) && opslimit <= MT_KDF_OPS_CEILING &&
           memlimit >= mem_floor(config) && memlimit <= mem_ceiling();
}

void mt_kdf_window_describe(const mt_config *config, char *out, size_t len)
{
    snprintf(out, len, "ops %llu..%u, memory %llu..%llu bytes",
             (unsigned long long)ops_floor(config), MT_KDF_OPS_CEILING,
             (unsigned long long)mem_floor(config), (unsigned long long)mem_ceiling());
}

static mt_status check_pair(const mt_config *config, const char *where, const char *prefix,
                            uint64_t opslimit, uint64_t memlimit)
{
    if (opslimit < ops_floor(config) || opslimit > MT_KDF_OPS_CEILING)
        return mt_fail(MT_ERR_INVALID, "%s: %skdf_opslimit %llu is outside %llu..%u%s", where,
                       prefix, (unsigned long long)opslimit, (unsigned long long)ops_floor(config),
                       MT_KDF_OPS_CEILING,
                       opslimit < ops_floor(config) ? " (allow_weak_kdf = true permits less)" : "");
    if (memlimit < mem_floor(config) || memlimit > mem_ceiling())
        return mt_fail(MT_ERR_INVALID, "%s: %skdf_memlimit %llu is outside %llu..%llu%s", where,
                       prefix, (unsigned long long)memlimit, (unsigned long long)mem_floor(config),
                       (unsigned long long)mem_ceiling(),
                       memlimit < mem_floor(config) ? " (allow_weak_kdf = true permits less)" : "");
    return MT_OK;
}

mt_status mt_kdf_config_check(const mt_config *config, const char *where)
{
    mt_status st = check_pair(config, where, "", config->kdf_opslimit, config->kdf_memlimit);
    if (st == MT_OK)
        st = check_pair(config, where, "so_", config->so_kdf_opslimit, config->so_kdf_memlimit);
    return st;
}
