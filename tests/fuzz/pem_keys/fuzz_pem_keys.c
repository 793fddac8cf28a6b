/* Fuzz target: private keys in PEM files.  The input's first byte picks the
 * block (PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA/EC PRIVATE KEY, these two
 * clear or with legacy PEM encryption); the rest is the block's DER (after
 * a 16-byte IV for legacy encryption), then the password (fuzz.h).  Framing
 * the DER here lets the mutations reach the key decoders and decryption
 * rather than break the base64. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const labels[] = {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY",
                                     "EC PRIVATE KEY"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t der_len = 0, password_len = 0, pem_len = 0;
    const char *password = NULL;
    char headers[128] = "";
    if (size < 2 || !mt_fuzz_split(data + 1, size - 1, &der_len, &password, &password_len))
        return 0;
    const uint8_t *der = data + 1;
    if ((data[0] & 0x10) && data[0] % 4 >= 2 && der_len >= 16) {
        int n = snprintf(headers, sizeof(headers), "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,");
        for (size_t i = 0; i < 16; i++)
            n += snprintf(headers + n, sizeof(headers) - (size_t)n, "%02X", der[i]);
        snprintf(headers + n, sizeof(headers) - (size_t)n, "\n\n");
        der += 16;
        der_len -= 16;
    }
    char *pem = mt_fuzz_pem(labels[data[0] % 4], headers, der, der_len, &pem_len);
    if (pem) {
        mt_fuzz_parse((const uint8_t *)pem, pem_len, password, password_len);
        mt_fuzz_parse((const uint8_t *)pem, pem_len, NULL, 0);
    }
    free(pem);
    return 0;
}
