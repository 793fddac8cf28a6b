/* The one map from store statuses to CKR_* codes, and the padded text
 * fields of the info structures (rv.c). */
#ifndef MT_PKCS11_RV_H
#define MT_PKCS11_RV_H

#include "pkcs11_v3.h"

#include "mailtoken/store.h"

#include <stddef.h>

CK_RV mt_rv_from_status(mt_status status);
/* C_Login: what the store says about a PIN it could not check. */
CK_RV mt_rv_login(mt_status status);
/* C_SetPIN, C_InitPIN: why the store did not change a PIN; `new_pin` tells
 * which rule a refused one broke, `on_server` whether the store is a server. */
CK_RV mt_rv_pin_change(mt_status status, const mt_secret *new_pin, bool on_server);
/* Opening a private key for an operation: the device's error, memory apart. */
CK_RV mt_rv_key_open(mt_status status);
/* pin_rv.c: why a new PIN was refused, in PKCS#11 terms */
CK_RV mt_pin_refused_rv(const mt_secret *pin);
/* A blank-padded, unterminated field: `text` cut at a character boundary. */
void mt_pad(CK_UTF8CHAR *field, size_t size, const char *text);

#endif
