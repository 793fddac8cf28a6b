/* The one map from the store's statuses to CKR_* codes.  Three calls need
 * their own reading of a status, each for a reason of the specification
 * given with it; everything else goes through mt_rv_from_status.  And the
 * blank-padded text fields of CK_INFO, CK_SLOT_INFO and CK_TOKEN_INFO. */
#include "rv.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

CK_RV mt_rv_from_status(mt_status status)
{
    switch (status) {
    case MT_OK: return CKR_OK;
    case MT_ERR_NOMEM: return CKR_HOST_MEMORY;
    case MT_ERR_PIN_INCORRECT: return CKR_PIN_INCORRECT;
    case MT_ERR_PIN_LOCKED: return CKR_PIN_LOCKED;
    case MT_ERR_PIN_POLICY: return CKR_PIN_INVALID;
    case MT_ERR_PIN_NOT_SET: return CKR_USER_PIN_NOT_INITIALIZED;
    case MT_ERR_READONLY: return CKR_TOKEN_WRITE_PROTECTED;
    case MT_ERR_NOT_FOUND: return CKR_TOKEN_NOT_PRESENT;
    case MT_ERR_INVALID: return CKR_ARGUMENTS_BAD;
    case MT_ERR_BUSY:
    case MT_ERR_IO:
    case MT_ERR_DB:
    case MT_ERR_CRYPTO:
    case MT_ERR_TAMPERED: return CKR_DEVICE_ERROR;
    default: return CKR_GENERAL_ERROR;
    }
}

/* A login the store could not count (or check) is refused; the client's log
 * says why, once per process (the usual cause: a store file this user cannot
 * write, see pin_counter in docs/pkcs11.md). */
static CK_RV login_device_error(void)
{
    static atomic_bool said;
    if (!atomic_exchange(&said, true))
        fprintf(stderr, "mailtoken-pkcs11: login refused: %s\n", mt_errmsg());
    return CKR_DEVICE_ERROR;
}

/* C_Login has no CKR_ARGUMENTS_BAD for a PIN and no
 * CKR_TOKEN_WRITE_PROTECTED: a PIN the store cannot take is an incorrect
 * one, and an attempt it cannot record is the device's failure. */
CK_RV mt_rv_login(mt_status status)
{
    switch (status) {
    case MT_ERR_INVALID: return CKR_PIN_INCORRECT;
    case MT_ERR_READONLY:
    case MT_ERR_IO:
    case MT_ERR_BUSY:
    case MT_ERR_DB:
    case MT_ERR_TAMPERED: return login_device_error();
    default: return mt_rv_from_status(status);
    }
}

/* A PIN change the store could not write (a store file the user cannot
 * write, or opened read-only) is the token's write protection, as
 * C_GetTokenInfo's CKF_WRITE_PROTECTED announces; a server that cannot be
 * reached is the device's failure; a refused new PIN says which rule it
 * broke (pin_rv.c). */
CK_RV mt_rv_pin_change(mt_status status, const mt_secret *new_pin, bool on_server)
{
    if (status == MT_ERR_IO && on_server)
        return CKR_DEVICE_ERROR;
    if (status == MT_ERR_INVALID || status == MT_ERR_IO)
        return CKR_TOKEN_WRITE_PROTECTED;
    if (status == MT_ERR_PIN_POLICY)
        return mt_pin_refused_rv(new_pin);
    return mt_rv_from_status(status);
}

/* A sealed key that does not open while its token is logged in is the
 * device's failure whatever the cause: C_SignInit and friends have no
 * CKR_TOKEN_NOT_PRESENT or CKR_ARGUMENTS_BAD for it. */
CK_RV mt_rv_key_open(mt_status status)
{
    return status == MT_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_DEVICE_ERROR;
}

/* Cut by bytes, a field could end in half a UTF-8 character (an email
 * address with non-ASCII letters in the slot description): the cut backs
 * off to the start of the character it would split. */
void mt_pad(CK_UTF8CHAR *field, size_t size, const char *text)
{
    size_t len = strlen(text);
    if (len > size) {
        len = size;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    memset(field, ' ', size);
    memcpy(field, text, len);
}
