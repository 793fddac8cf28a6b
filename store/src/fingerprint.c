/* SHA-256 fingerprints as text: "ab:cd:..." or 64 plain hex digits. */
#include "internal.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

/* Pairs of hex digits, a single colon allowed between two pairs (never
 * first, last, doubled or inside a pair: libsodium skips it between pairs). */
static bool colons_ok(const char *text)
{
    size_t digits = 0;
    for (const char *p = text; *p; p++) {
        if (*p != ':') {
            digits++;
            continue;
        }
        if (digits == 0 || digits % 2 || p[1] == ':' || p[1] == '\0')
            return false;
    }
    return true;
}

mt_status mt_fingerprint_parse(const char *text, uint8_t sha256[32])
{
    size_t len = 0;
    const char *end = NULL;
    if (!text || !sha256)
        return mt_fail(MT_ERR_INVALID, "fingerprint: argument is NULL");
    if (!colons_ok(text) ||
        sodium_hex2bin(sha256, 32, text, strlen(text), ":", &len, &end) != 0 || len != 32 ||
        *end != '\0')
        return mt_fail(MT_ERR_INVALID,
                       "fingerprint: \"%.80s\" is not a SHA-256 fingerprint (64 hex digits)", text);
    return MT_OK;
}

void mt_fingerprint_hex(const uint8_t sha256[32], char out[65])
{
    sodium_bin2hex(out, 65, sha256, 32);
}
