/* What a certificate is good for, and the warnings its import deserves. */
#include "cert_internal.h"

#include <stdio.h>
#include <time.h>

#define RSA_MIN_BITS 1024  /* what the module signs with */
#define RSA_MAX_BITS 16384
#define RSA_WEAK_BITS 2048 /* below: imported with a warning */

#define KU_SIGN (MT_KU_DIGITAL_SIGNATURE | MT_KU_NON_REPUDIATION)
#define KU_ENCRYPT (MT_KU_KEY_ENCIPHERMENT | MT_KU_DATA_ENCIPHERMENT | MT_KU_KEY_AGREEMENT)

mt_key_verdict mt_key_verdict_of(const mt_cert_info *info, char *reason, size_t size)
{
    reason[0] = '\0';
    switch (info->key_type) {
    case MT_KEY_RSA:
        if (info->key_bits >= RSA_MIN_BITS && info->key_bits <= RSA_MAX_BITS)
            return MT_KEY_USABLE;
        snprintf(reason, size, "RSA-%u keys are not supported (%d to %d bits are)", info->key_bits,
                 RSA_MIN_BITS, RSA_MAX_BITS);
        return MT_KEY_SKIP;
    case MT_KEY_EC:
        if (info->curve)
            return MT_KEY_USABLE;
        snprintf(reason, size, "%s keys are not supported (EC P-256, P-384 and P-521 are)",
                 info->key_algorithm);
        return MT_KEY_SKIP;
    case MT_KEY_ED25519:
    case MT_KEY_ED448:
    case MT_KEY_X25519:
    case MT_KEY_X448:
        snprintf(reason, size, "%s keys are not usable through PKCS#11 yet: imported as a "
                               "certificate only", mt_key_type_name(info->key_type));
        return MT_KEY_CERT_ONLY;
    case MT_KEY_NONE:
    case MT_KEY_OTHER:
        break;
    }
    snprintf(reason, size, "%s keys are not supported (RSA and EC are)", info->key_algorithm);
    return MT_KEY_SKIP;
}

static void day_text(int64_t t, char out[16])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 16, "%Y-%m-%d", &tm))
        snprintf(out, 16, "?");
}

static mt_status validity_warnings(mt_cert_pool *pool, const mt_cert_info *info,
                                   const char *label)
{
    char day[16];
    int64_t now = mt_now();
    if (info->not_after < now) {
        day_text(info->not_after, day);
        return mt_pool_warn(pool, "certificate %s expired on %s", label, day);
    }
    if (info->not_before > now) {
        day_text(info->not_before, day);
        return mt_pool_warn(pool, "certificate %s is not yet valid (from %s)", label, day);
    }
    return MT_OK;
}

/* Usage warnings concern certificates meant for mail, not authorities. */
static mt_status usage_warnings(mt_cert_pool *pool, const mt_cert_info *info, const char *label)
{
    mt_status st = MT_OK;
    if (info->is_ca)
        st = mt_pool_warn(pool, "certificate %s is a CA certificate (basicConstraints cA) "
                                "imported as an end-entity certificate", label);
    if (st == MT_OK && !info->email_protection)
        st = mt_pool_warn(pool, "certificate %s has an extended key usage without "
                                "emailProtection: mail clients will not use it for S/MIME", label);
    if (st == MT_OK && info->has_key_usage && !(info->key_usage & (KU_SIGN | KU_ENCRYPT)))
        st = mt_pool_warn(pool, "certificate %s has a key usage that allows neither signing nor "
                                "encryption", label);
    if (st == MT_OK && info->key_type == MT_KEY_RSA && info->key_bits < RSA_WEAK_BITS)
        st = mt_pool_warn(pool, "certificate %s has an RSA-%u key, shorter than %d bits", label,
                          info->key_bits, RSA_WEAK_BITS);
    return st;
}

static mt_status key_warnings(mt_cert_pool *pool, const mt_parsed_entry *entry,
                              const mt_entry_facts *facts)
{
    const char *label = facts->label;
    if (entry->authority)
        return mt_pool_warn(pool, "certificate %s is a CA certificate: stored as an authority "
                                  "certificate, offered as the chain of the certificates it "
                                  "issues; it cannot belong to an account", label);
    if (entry->cert->n_emails == 0 && facts->key_in_file && facts->verdict == MT_KEY_USABLE)
        return mt_pool_warn(pool, "certificate %s names no email address: its private key was "
                                  "not stored (keys are sealed to the token of an email the "
                                  "certificate names), and no account can use it", label);
    if (entry->cert->n_emails == 0)
        return mt_pool_warn(pool, "certificate %s names no email address: it cannot belong to "
                                  "an account", label);
    if (facts->p12_without_keys)
        return mt_pool_warn(pool, "certificate %s imported without a private key: the PKCS#12 "
                                  "holds none", label);
    if (facts->p12 && !facts->key_in_file)
        return mt_pool_warn(pool, "certificate %s imported without a private key: the PKCS#12 "
                                  "holds none for it", label);
    return MT_OK;
}

mt_status mt_entry_warnings(mt_cert_pool *pool, const mt_parsed_entry *entry,
                            const mt_entry_facts *facts)
{
    mt_status st = MT_OK;
    if (facts->verdict == MT_KEY_CERT_ONLY)
        st = mt_pool_warn(pool, "certificate %s: %s", facts->label, facts->verdict_reason);
    if (st == MT_OK)
        st = key_warnings(pool, entry, facts);
    if (st == MT_OK)
        st = validity_warnings(pool, entry->cert, facts->label);
    if (st == MT_OK && !entry->authority)
        st = usage_warnings(pool, entry->cert, facts->label);
    return st;
}
