/* The mt_cert_parse fuzz target, shared by libFuzzer and the replay driver. */
#ifndef MT_FUZZ_CERT_PARSE_H
#define MT_FUZZ_CERT_PARSE_H

#include "mailtoken/store.h"

/* Extra password tried on each input (the replay driver sets it). */
extern const char *mt_fuzz_password;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
