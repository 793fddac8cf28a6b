/* Fuzz target: mt_cert_parse on any input file (P12 BER/DER, PEM, PKCS#7,
 * DER), with no password, the empty one and the one the input carries. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t file_len = 0, password_len = 0;
    const char *password = NULL;
    mt_fuzz_parse(data, size, NULL, 0);
    mt_fuzz_parse(data, size, "", 0);
    if (mt_fuzz_split(data, size, &file_len, &password, &password_len))
        mt_fuzz_parse(data, file_len, password, password_len);
    return 0;
}
