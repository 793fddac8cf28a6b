/* Fuzz target: PKCS#7 certificate bundles, as DER and framed as a PEM
 * "PKCS7" block (the two ways .p7b/.p7c files come). */
#include "fuzz.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pem_len = 0;
    mt_fuzz_parse(data, size, NULL, 0);
    if (size > MT_MAX_INPUT_SIZE / 2)
        return 0;
    char *pem = mt_fuzz_pem("PKCS7", "", data, size, &pem_len);
    if (pem)
        mt_fuzz_parse((const uint8_t *)pem, pem_len, NULL, 0);
    free(pem);
    return 0;
}
