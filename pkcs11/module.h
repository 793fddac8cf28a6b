/* The whole inside of mailtoken-pkcs11.so, for the white-box unit tests and
 * the fuzzer.  The module's own files include the headers of the areas
 * they use instead (docs/architecture.md lists them). */
#ifndef MT_PKCS11_MODULE_H
#define MT_PKCS11_MODULE_H

#include "attr.h"
#include "call.h"
#include "calls.h"
#include "crypto.h"
#include "init.h"
#include "mech.h"
#include "object.h"
#include "operation.h"
#include "rv.h"
#include "secret_key.h"
#include "session.h"
#include "state.h"
#include "token.h"
#include "trace.h"

#endif
