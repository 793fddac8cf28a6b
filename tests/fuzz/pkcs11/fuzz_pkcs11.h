/* The fuzz target of the module, shared by libFuzzer and the replay driver. */
#ifndef MT_FUZZ_PKCS11_H
#define MT_FUZZ_PKCS11_H

#include "module.h"

#define MT_FUZZ_PIN "fuzz-user-pin-1"

/* The calls an input's selector bytes name (selector % MT_FUZZ_CALLS);
 * corpus/<name>/ holds seeds for each (make-seeds.py). */
enum {
    MT_FUZZ_FIND,
    MT_FUZZ_GET_ATTRIBUTES,
    MT_FUZZ_SET_ATTRIBUTES,
    MT_FUZZ_CREATE,
    MT_FUZZ_COPY,
    MT_FUZZ_DESTROY,
    MT_FUZZ_DERIVE,
    MT_FUZZ_UNWRAP,
    MT_FUZZ_WRAP,
    MT_FUZZ_ENCRYPT,
    MT_FUZZ_DECRYPT,
    MT_FUZZ_SIGN,
    MT_FUZZ_VERIFY,
    MT_FUZZ_DIGEST,
    MT_FUZZ_INITIALIZE,
    MT_FUZZ_OPEN,
    MT_FUZZ_CLOSE,
    MT_FUZZ_MECHANISM_INFO,
    MT_FUZZ_RANDOM,
    MT_FUZZ_CALLS
};

/* A store of three accounts (the test data's alice, carol, dave: $MT_TESTDATA,
 * built with $MT_PROVISION), the module initialised, each token logged in. */
int mt_fuzz_setup(void);
int mt_fuzz_one(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
