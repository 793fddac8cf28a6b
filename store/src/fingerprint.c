/* SHA-256 fingerprints as text: "ab:cd:..." or 64 plain hex digits. */
#include "internal.h"

#include <ctype.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

mt_status mt_fingerprint_parse(const char *text, uint8_t sha256[32])
{
    if (!text || !sha256)
        return mt_fail(MT_ERR_INVALID, "fingerprint: argument is NULL");
    const char *p = text;
    for (size_t i = 0; i < 32; i++) {
        /* A colon may separate byte pairs, never split one. */
        if (i > 0 && *p == ':')
            p++;
        int hi = hex_value(p[0]);
        int lo = hi < 0 ? -1 : hex_value(p[1]);
        if (hi < 0 || lo < 0)
            return mt_fail(MT_ERR_INVALID,
                           "fingerprint: \"%.80s\" is not a SHA-256 fingerprint (64 hex digits)",
                           text);
        sha256[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    if (*p != '\0')
        return mt_fail(MT_ERR_INVALID,
                       "fingerprint: \"%.80s\" is not a SHA-256 fingerprint (64 hex digits)", text);
    return MT_OK;
}

void mt_fingerprint_hex(const uint8_t sha256[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[sha256[i] >> 4];
        out[2 * i + 1] = digits[sha256[i] & 0x0f];
    }
    out[64] = '\0';
}
