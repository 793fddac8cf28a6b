/* How a token presents itself (label, serial) and the PIN policy. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define LABEL_MAX 32
#define LABEL_SUFFIX_LEN 7 /* "~" + 6 hex digits */
#define PIN_MAX_LEN 256

void mt_token_label(const char *email, char label[33])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    const char *text = email ? email : "";
    size_t len = strlen(text);
    if (len <= LABEL_MAX) {
        memcpy(label, text, len + 1);
        return;
    }
    /* cut before a continuation byte never splits a UTF-8 character */
    size_t cut = LABEL_MAX - LABEL_SUFFIX_LEN;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    crypto_hash_sha256(hash, (const unsigned char *)text, len);
    memcpy(label, text, cut);
    snprintf(label + cut, LABEL_MAX + 1 - cut, "~%02x%02x%02x", hash[0], hash[1], hash[2]);
}

void mt_token_serial(int64_t org_id, int64_t token_id, char serial[17])
{
    snprintf(serial, 17, "%08x%08x", (unsigned)(uint32_t)org_id, (unsigned)(uint32_t)token_id);
}

static size_t utf8_chars(const uint8_t *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (s[i] & 0xC0) != 0x80;
    return n;
}

static mt_status policy_check(const char *name, unsigned min_len, const char *min_key,
                              bool digits_ok, const mt_secret *pin)
{
    if (!pin || !pin->data || pin->len == 0)
        return mt_fail(MT_ERR_PIN_POLICY, "%s is empty", name);
    if (pin->len > PIN_MAX_LEN)
        return mt_fail(MT_ERR_PIN_POLICY, "%s is longer than %d bytes", name, PIN_MAX_LEN);
    if (!mt_utf8_valid((const char *)pin->data, pin->len))
        return mt_fail(MT_ERR_PIN_POLICY, "%s is not valid UTF-8 text", name);
    if (utf8_chars(pin->data, pin->len) < min_len)
        return mt_fail(MT_ERR_PIN_POLICY, "%s is shorter than %s (%u characters)", name, min_key, min_len);
    bool digits_only = true;
    for (size_t i = 0; i < pin->len && digits_only; i++)
        digits_only = pin->data[i] >= '0' && pin->data[i] <= '9';
    if (digits_only && !digits_ok)
        return mt_fail(MT_ERR_PIN_POLICY,
                       "%s is digits only (refused unless pin_allow_digits_only = true)", name);
    if (mt_pin_is_common(pin->data, pin->len))
        return mt_fail(MT_ERR_PIN_POLICY, "%s is a common password (among the first guesses of "
                       "any attacker): choose another", name);
    return MT_OK;
}

mt_status mt_pin_policy_check(const mt_config *config, const mt_secret *pin)
{
    return policy_check("PIN", config ? config->pin_min_length : 8, "pin_min_length",
                        config ? config->pin_allow_digits_only : false, pin);
}

mt_status mt_so_pin_policy_check(const mt_config *config, const mt_secret *pin)
{
    return policy_check("SO PIN", config ? config->so_pin_min_length : 12, "so_pin_min_length",
                        config ? config->pin_allow_digits_only : false, pin);
}
