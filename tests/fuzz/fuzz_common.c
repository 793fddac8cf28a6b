/* Helpers of the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mt_fuzz_split(const uint8_t *data, size_t size, size_t *file_len, const char **password,
                   size_t *password_len)
{
    if (size < 2 || data[size - 1] > MT_FUZZ_MAX_PASSWORD || data[size - 1] + 1u > size)
        return false;
    *password_len = data[size - 1];
    *file_len = size - 1 - *password_len;
    *password = (const char *)data + *file_len;
    return true;
}

void mt_fuzz_parse(const uint8_t *data, size_t size, const char *password, size_t password_len)
{
    mt_parsed *parsed = NULL;
    if (mt_cert_parse(data, size, "fuzz-input", password, password_len, &parsed) == MT_OK) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < parsed->n_entries; i++) {
            const mt_parsed_entry *entry = &parsed->entries[i];
            sink ^= entry->cert->sha256[0];
            for (size_t e = 0; e < entry->cert->n_emails; e++)
                sink ^= (uint8_t)strlen(entry->cert->emails[e]);
            if (entry->pkcs8 && entry->pkcs8->len)
                sink ^= entry->pkcs8->data[entry->pkcs8->len - 1];
            for (size_t c = 0; c < entry->n_chain; c++)
                sink ^= entry->chain[c]->sha256[1];
        }
        for (size_t i = 0; i < parsed->n_skipped; i++)
            sink ^= (uint8_t)strlen(parsed->skipped[i].reason);
        for (size_t i = 0; i < parsed->n_warnings; i++)
            sink ^= (uint8_t)strlen(parsed->warnings[i]);
        (void)sink;
    }
    mt_parsed_free(parsed);
}

char *mt_fuzz_pem(const char *label, const char *headers, const uint8_t *der, size_t len,
                  size_t *out_len)
{
    size_t size = 2 * strlen(label) + strlen(headers) + 64 + len / 48 * 66 + 70;
    char *pem = malloc(size);
    if (!pem)
        return NULL;
    size_t n = (size_t)snprintf(pem, size, "-----BEGIN %s-----\n%s", label, headers);
    for (size_t i = 0; i < len; i += 48) {
        size_t chunk = len - i < 48 ? len - i : 48;
        n += (size_t)EVP_EncodeBlock((unsigned char *)pem + n, der + i, (int)chunk);
        pem[n++] = '\n';
    }
    n += (size_t)snprintf(pem + n, size - n, "-----END %s-----\n", label);
    *out_len = n;
    return pem;
}
