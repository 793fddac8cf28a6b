/* Names of PKCS#11 constants, so that reports and expected-difference ids read. */
#include "p11diff.h"

#include <stdio.h>
#include <string.h>

typedef struct p11d_name {
    CK_ULONG value;
    const char *name;
} p11d_name;

#define N(x) { x, #x }

static const p11d_name rv_names[] = {
    N(CKR_OK), N(CKR_CANCEL), N(CKR_HOST_MEMORY), N(CKR_SLOT_ID_INVALID), N(CKR_GENERAL_ERROR),
    N(CKR_FUNCTION_FAILED), N(CKR_ARGUMENTS_BAD), N(CKR_NO_EVENT), N(CKR_NEED_TO_CREATE_THREADS),
    N(CKR_CANT_LOCK), N(CKR_ATTRIBUTE_READ_ONLY), N(CKR_ATTRIBUTE_SENSITIVE),
    N(CKR_ATTRIBUTE_TYPE_INVALID), N(CKR_ATTRIBUTE_VALUE_INVALID), N(CKR_DATA_INVALID),
    N(CKR_DATA_LEN_RANGE), N(CKR_DEVICE_ERROR), N(CKR_DEVICE_MEMORY), N(CKR_DEVICE_REMOVED),
    N(CKR_ENCRYPTED_DATA_INVALID), N(CKR_ENCRYPTED_DATA_LEN_RANGE), N(CKR_FUNCTION_CANCELED),
    N(CKR_FUNCTION_NOT_PARALLEL), N(CKR_FUNCTION_NOT_SUPPORTED), N(CKR_KEY_HANDLE_INVALID),
    N(CKR_KEY_SIZE_RANGE), N(CKR_KEY_TYPE_INCONSISTENT), N(CKR_KEY_NOT_NEEDED),
    N(CKR_KEY_CHANGED), N(CKR_KEY_NEEDED), N(CKR_KEY_INDIGESTIBLE),
    N(CKR_KEY_FUNCTION_NOT_PERMITTED), N(CKR_KEY_NOT_WRAPPABLE), N(CKR_KEY_UNEXTRACTABLE),
    N(CKR_MECHANISM_INVALID), N(CKR_MECHANISM_PARAM_INVALID), N(CKR_OBJECT_HANDLE_INVALID),
    N(CKR_OPERATION_ACTIVE), N(CKR_OPERATION_NOT_INITIALIZED), N(CKR_PIN_INCORRECT),
    N(CKR_PIN_INVALID), N(CKR_PIN_LEN_RANGE), N(CKR_PIN_EXPIRED), N(CKR_PIN_LOCKED),
    N(CKR_SESSION_CLOSED), N(CKR_SESSION_COUNT), N(CKR_SESSION_HANDLE_INVALID),
    N(CKR_SESSION_PARALLEL_NOT_SUPPORTED), N(CKR_SESSION_READ_ONLY), N(CKR_SESSION_EXISTS),
    N(CKR_SESSION_READ_ONLY_EXISTS), N(CKR_SESSION_READ_WRITE_SO_EXISTS),
    N(CKR_SIGNATURE_INVALID), N(CKR_SIGNATURE_LEN_RANGE), N(CKR_TEMPLATE_INCOMPLETE),
    N(CKR_TEMPLATE_INCONSISTENT), N(CKR_TOKEN_NOT_PRESENT), N(CKR_TOKEN_NOT_RECOGNIZED),
    N(CKR_TOKEN_WRITE_PROTECTED), N(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    N(CKR_USER_ALREADY_LOGGED_IN), N(CKR_USER_NOT_LOGGED_IN), N(CKR_USER_PIN_NOT_INITIALIZED),
    N(CKR_USER_TYPE_INVALID), N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), N(CKR_USER_TOO_MANY_TYPES),
    N(CKR_WRAPPED_KEY_INVALID), N(CKR_WRAPPED_KEY_LEN_RANGE), N(CKR_WRAPPING_KEY_HANDLE_INVALID),
    N(CKR_WRAPPING_KEY_SIZE_RANGE), N(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
    N(CKR_RANDOM_SEED_NOT_SUPPORTED), N(CKR_RANDOM_NO_RNG), N(CKR_DOMAIN_PARAMS_INVALID),
    N(CKR_BUFFER_TOO_SMALL), N(CKR_SAVED_STATE_INVALID), N(CKR_INFORMATION_SENSITIVE),
    N(CKR_STATE_UNSAVEABLE), N(CKR_CRYPTOKI_NOT_INITIALIZED),
    N(CKR_CRYPTOKI_ALREADY_INITIALIZED), N(CKR_MUTEX_BAD), N(CKR_MUTEX_NOT_LOCKED),
    N(CKR_FUNCTION_REJECTED),
};

static const p11d_name mech_names[] = {
    N(CKM_RSA_PKCS_KEY_PAIR_GEN), N(CKM_RSA_PKCS), N(CKM_RSA_9796), N(CKM_RSA_X_509),
    N(CKM_MD5_RSA_PKCS), N(CKM_SHA1_RSA_PKCS), N(CKM_RSA_PKCS_OAEP), N(CKM_RSA_X9_31_KEY_PAIR_GEN),
    N(CKM_RSA_PKCS_PSS), N(CKM_SHA1_RSA_PKCS_PSS), N(CKM_DSA_KEY_PAIR_GEN), N(CKM_DSA),
    { 0x13UL, "CKM_DSA_SHA224" },
    { 0x14UL, "CKM_DSA_SHA256" }, { 0x15UL, "CKM_DSA_SHA384" }, { 0x16UL, "CKM_DSA_SHA512" },
    N(CKM_DSA_SHA1), N(CKM_SHA224_RSA_PKCS), N(CKM_SHA256_RSA_PKCS), N(CKM_SHA384_RSA_PKCS),
    N(CKM_SHA512_RSA_PKCS), N(CKM_SHA224_RSA_PKCS_PSS), N(CKM_SHA256_RSA_PKCS_PSS),
    N(CKM_SHA384_RSA_PKCS_PSS), N(CKM_SHA512_RSA_PKCS_PSS), N(CKM_DES_KEY_GEN), N(CKM_DES_ECB),
    N(CKM_DES_CBC), N(CKM_DES_CBC_PAD), N(CKM_DES2_KEY_GEN), N(CKM_DES3_KEY_GEN),
    N(CKM_DES3_ECB), N(CKM_DES3_CBC), N(CKM_DES3_MAC), N(CKM_DES3_CBC_PAD), N(CKM_DES3_CMAC),
    N(CKM_MD5), N(CKM_MD5_HMAC), N(CKM_SHA_1), N(CKM_SHA_1_HMAC), N(CKM_SHA224),
    N(CKM_SHA224_HMAC), N(CKM_SHA256), N(CKM_SHA256_HMAC), N(CKM_SHA384), N(CKM_SHA384_HMAC),
    N(CKM_SHA512), N(CKM_SHA512_HMAC), N(CKM_GENERIC_SECRET_KEY_GEN),
    N(CKM_CONCATENATE_DATA_AND_BASE), N(CKM_CONCATENATE_BASE_AND_DATA), N(CKM_DES_ECB_ENCRYPT_DATA),
    N(CKM_DES_CBC_ENCRYPT_DATA), N(CKM_DES3_ECB_ENCRYPT_DATA), N(CKM_DES3_CBC_ENCRYPT_DATA),
    N(CKM_AES_ECB_ENCRYPT_DATA), N(CKM_AES_CBC_ENCRYPT_DATA), N(CKM_EC_KEY_PAIR_GEN),
    N(CKM_ECDSA), N(CKM_ECDSA_SHA1), N(CKM_ECDSA_SHA224), N(CKM_ECDSA_SHA256),
    N(CKM_ECDSA_SHA384), N(CKM_ECDSA_SHA512), N(CKM_ECDH1_DERIVE), N(CKM_ECDH1_COFACTOR_DERIVE),
    N(CKM_DH_PKCS_KEY_PAIR_GEN), N(CKM_DH_PKCS_DERIVE), N(CKM_DH_PKCS_PARAMETER_GEN),
    N(CKM_DSA_PARAMETER_GEN), N(CKM_AES_KEY_GEN), N(CKM_AES_ECB), N(CKM_AES_CBC),
    N(CKM_AES_MAC), N(CKM_AES_CBC_PAD), N(CKM_AES_CTR), N(CKM_AES_GCM), N(CKM_AES_CMAC),
    N(CKM_AES_KEY_WRAP), N(CKM_AES_KEY_WRAP_PAD), N(CKM_GOSTR3410_KEY_PAIR_GEN),
    N(CKM_GOSTR3410), N(CKM_GOSTR3410_WITH_GOSTR3411), N(CKM_GOSTR3411), N(CKM_GOSTR3411_HMAC),
    N(CKM_GOST28147_KEY_GEN), N(CKM_GOST28147_ECB), N(CKM_GOST28147), N(CKM_GOST28147_MAC),
    N(CKM_GOST28147_KEY_WRAP), { 0x1055UL, "CKM_EC_EDWARDS_KEY_PAIR_GEN" },
    { 0x1057UL, "CKM_EDDSA" }, { 0x1050UL, "CKM_ECDSA_SHA3_224" },
};

static const p11d_name token_flags[] = {
    N(CKF_RNG), N(CKF_WRITE_PROTECTED), N(CKF_LOGIN_REQUIRED), N(CKF_USER_PIN_INITIALIZED),
    N(CKF_RESTORE_KEY_NOT_NEEDED), N(CKF_CLOCK_ON_TOKEN), N(CKF_PROTECTED_AUTHENTICATION_PATH),
    N(CKF_DUAL_CRYPTO_OPERATIONS), N(CKF_TOKEN_INITIALIZED), N(CKF_SECONDARY_AUTHENTICATION),
    N(CKF_USER_PIN_COUNT_LOW), N(CKF_USER_PIN_FINAL_TRY), N(CKF_USER_PIN_LOCKED),
    N(CKF_USER_PIN_TO_BE_CHANGED), N(CKF_SO_PIN_COUNT_LOW), N(CKF_SO_PIN_FINAL_TRY),
    N(CKF_SO_PIN_LOCKED), N(CKF_SO_PIN_TO_BE_CHANGED),
};

static const p11d_name slot_flags[] = {
    N(CKF_TOKEN_PRESENT), N(CKF_REMOVABLE_DEVICE), N(CKF_HW_SLOT),
};

static const p11d_name mech_flags[] = {
    N(CKF_HW), N(CKF_ENCRYPT), N(CKF_DECRYPT), N(CKF_DIGEST), N(CKF_SIGN), N(CKF_SIGN_RECOVER),
    N(CKF_VERIFY), N(CKF_VERIFY_RECOVER), N(CKF_GENERATE), N(CKF_GENERATE_KEY_PAIR),
    N(CKF_WRAP), N(CKF_UNWRAP), N(CKF_DERIVE), N(CKF_EC_F_P), { 0x00200000UL, "CKF_EC_F_2M" },
    { 0x00400000UL, "CKF_EC_ECPARAMETERS" }, { 0x00800000UL, "CKF_EC_NAMEDCURVE" },
    N(CKF_EC_UNCOMPRESS), N(CKF_EC_COMPRESS), N(CKF_EXTENSION),
};

static const p11d_name session_flags[] = {
    N(CKF_RW_SESSION), N(CKF_SERIAL_SESSION),
};

#undef N

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The constant's name, else PREFIX_0x<hex> in buf. */
static const char *name_or_hex(const p11d_name *table, size_t n, CK_ULONG value,
                               const char *prefix, char buf[32])
{
    for (size_t i = 0; i < n; i++)
        if (table[i].value == value)
            return table[i].name;
    snprintf(buf, 32, "%s_0x%lx", prefix, (unsigned long)value);
    return buf;
}

const char *p11d_rv_name(CK_RV rv, char buf[32])
{
    return name_or_hex(rv_names, COUNT(rv_names), rv, "CKR", buf);
}

const char *p11d_mech_name(CK_MECHANISM_TYPE mech, char buf[32])
{
    return name_or_hex(mech_names, COUNT(mech_names), mech, "CKM", buf);
}

/* The flag names of a table: 't' token, 's' slot, 'm' mechanism, 'i' session. */
static const p11d_name *flag_table(char table, size_t *n)
{
    switch (table) {
    case 's': *n = COUNT(slot_flags); return slot_flags;
    case 'm': *n = COUNT(mech_flags); return mech_flags;
    case 'i': *n = COUNT(session_flags); return session_flags;
    default: *n = COUNT(token_flags); return token_flags;
    }
}

void p11d_flags_names(char table, CK_FLAGS flags, char *out, size_t out_len)
{
    size_t n = 0;
    const p11d_name *names = flag_table(table, &n);
    size_t used = 0;
    out[0] = '\0';
    CK_FLAGS known = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(flags & names[i].value))
            continue;
        known |= names[i].value;
        used += (size_t)snprintf(out + used, used < out_len ? out_len - used : 0, "%s%s",
                                 used ? " " : "", names[i].name);
    }
    if (flags & ~known)
        snprintf(out + used, used < out_len ? out_len - used : 0, "%s0x%lx", used ? " " : "",
                 (unsigned long)(flags & ~known));
    else if (!used)
        snprintf(out, out_len, "none");
}

void p11d_note_flags(p11d_log *log, const char *key, char table, CK_FLAGS flags)
{
    size_t n = 0;
    const p11d_name *names = flag_table(table, &n);
    char name[128];
    CK_FLAGS known = 0;
    for (size_t i = 0; i < n; i++) {
        known |= names[i].value;
        snprintf(name, sizeof(name), "%s.%s", key, names[i].name);
        p11d_note(log, name, "%s", flags & names[i].value ? "set" : "clear");
    }
    if (flags & ~known) {
        snprintf(name, sizeof(name), "%s.unknown", key);
        p11d_note(log, name, "0x%lx", (unsigned long)(flags & ~known));
    }
}
