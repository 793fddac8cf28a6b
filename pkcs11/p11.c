/* The C_* entry points: thin, uniform.  Each runs inside the rules of its
 * kind of call (call.h): a session call (initialised? session valid? the
 * login state and session kind it needs? the lock) or a slot call
 * (initialised? arguments there? the lock), then the module's plain C
 * (calls.h); and, when the trace asks for calls, leaves one line. */
#include "call.h"
#include "calls.h"
#include "mech.h"
#include "state.h"
#include "trace.h"

#include "mailtoken/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MT_EXPORT __attribute__((visibility("default")))

#define SESSION_CALL(h, flags, expr)                                                           \
    do {                                                                                       \
        mt_call c;                                                                             \
        rv = mt_call_begin(&c, (h), (flags));                                                  \
        if (rv == CKR_OK)                                                                      \
            rv = (expr);                                                                       \
        rv = mt_call_end(&c, rv);                                                              \
    } while (0)
/* Under the module lock (object lookups, logins, *Init). */
#define LOCKED(h, expr) SESSION_CALL(h, 0, expr)
/* Operation steps: the session is held, the lock is not (no lock during crypto). */
#define UNLOCKED(h, expr) SESSION_CALL(h, MT_CALL_UNLOCKED, expr)
/* Slot, token and module queries: under the module lock. */
#define SLOT_CALL(args_ok, expr)                                                               \
    do {                                                                                       \
        mt_call c;                                                                             \
        rv = mt_call_begin_slot(&c, (args_ok));                                                \
        if (rv == CKR_OK)                                                                      \
            rv = (expr);                                                                       \
        rv = mt_call_end(&c, rv);                                                              \
    } while (0)
/* Every entry point: its return value in rv, and its trace line at the
 * end (the store's message in it is this call's own: cleared first). */
#define CALL_BEGIN()                                                                           \
    CK_RV rv;                                                                                  \
    if (mt_tracing_calls())                                                                    \
    mt_clear_error()
#define CALL_END(...)                                                                          \
    do {                                                                                       \
        if (mt_tracing_calls()) {                                                              \
            char b0[24], b1[24];                                                               \
            (void)b0, (void)b1;                                                                \
            mt_trace_call(__func__, rv, __VA_ARGS__);                                          \
        }                                                                                      \
        return rv;                                                                             \
    } while (0)

/* Shapes of arguments for the trace: never a value a client passes in (a
 * PIN, data), only whether a pointer is set, and lengths the module gave. */
static const char *set(const void *p)
{
    return p ? "set" : "NULL";
}

static const char *ulong_at(const CK_ULONG *p, CK_RV rv, char buf[24])
{
    if (!p)
        return "NULL";
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        return "set"; /* not written by the module: maybe never readable */
    snprintf(buf, 24, "%lu", (unsigned long)*p);
    return buf;
}

static const char *mechanism_at(const CK_MECHANISM *m, char buf[24])
{
    if (!m)
        return "NULL";
    snprintf(buf, 24, "0x%lx", (unsigned long)m->mechanism);
    return buf;
}

/* What the module does not do: said only once it is initialised, as every
 * other function says CKR_CRYPTOKI_NOT_INITIALIZED first. */
static CK_RV not_supported(void)
{
    CK_RV rv = mt_check_initialised();
    return rv == CKR_OK ? CKR_FUNCTION_NOT_SUPPORTED : rv;
}

/* The same for the functions without an entry point of their own below
 * (the dual-function and 3.0 message functions), traced by kind. */
static CK_RV not_supported_as(const char *kind)
{
    CK_RV rv = not_supported();
    if (mt_tracing_calls())
        mt_trace_call(kind, rv, "...");
    return rv;
}

/* ------------------------------------------------------------- general */

MT_EXPORT CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    CALL_BEGIN();
    rv = mt_initialize(pInitArgs);
    CALL_END("pInitArgs=%s", set(pInitArgs));
}

MT_EXPORT CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    CALL_BEGIN();
    rv = mt_finalize(pReserved);
    CALL_END("pReserved=%s", set(pReserved));
}

MT_EXPORT CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    CALL_BEGIN();
    SLOT_CALL(pInfo != NULL, mt_get_info(pInfo));
    CALL_END("pInfo=%s", set(pInfo));
}

MT_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    CK_RV rv = CKR_ARGUMENTS_BAD;
    if (ppFunctionList) {
        *ppFunctionList = &mt_function_list;
        rv = CKR_OK;
    }
    CALL_END("ppFunctionList=%s", set(ppFunctionList));
}

MT_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    CALL_BEGIN();
    rv = mt_get_interface_list(pInterfacesList, pulCount);
    CALL_END("pInterfacesList=%s pulCount=%s", set(pInterfacesList), ulong_at(pulCount, rv, b0));
}

MT_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                               CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    CALL_BEGIN();
    rv = mt_get_interface(pInterfaceName, pVersion, ppInterface, flags);
    CALL_END("pInterfaceName=%s pVersion=%s ppInterface=%s flags=0x%lx", set(pInterfaceName),
             set(pVersion), set(ppInterface), (unsigned long)flags);
}

/* ------------------------------------------------------ slots and tokens */

MT_EXPORT CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
                              CK_ULONG_PTR pulCount)
{
    CALL_BEGIN();
    SLOT_CALL(pulCount != NULL, mt_get_slot_list(tokenPresent, pSlotList, pulCount));
    CALL_END("tokenPresent=%u pSlotList=%s pulCount=%s", (unsigned)tokenPresent, set(pSlotList),
             ulong_at(pulCount, rv, b0));
}

MT_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CALL_BEGIN();
    SLOT_CALL(pInfo != NULL, mt_get_slot_info(slotID, pInfo));
    CALL_END("slotID=%lu pInfo=%s", (unsigned long)slotID, set(pInfo));
}

MT_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CALL_BEGIN();
    SLOT_CALL(pInfo != NULL, mt_get_token_info(slotID, pInfo));
    CALL_END("slotID=%lu pInfo=%s", (unsigned long)slotID, set(pInfo));
}

MT_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    CALL_BEGIN();
    SLOT_CALL(!(flags & CKF_DONT_BLOCK) || (pSlot && !pReserved),
              mt_wait_for_slot_event(flags, pSlot, pReserved));
    CALL_END("flags=0x%lx pSlot=%s pReserved=%s", (unsigned long)flags, set(pSlot), set(pReserved));
}

MT_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                   CK_ULONG_PTR pulCount)
{
    CALL_BEGIN();
    SLOT_CALL(pulCount != NULL, mt_get_mechanism_list(slotID, pMechanismList, pulCount));
    CALL_END("slotID=%lu pMechanismList=%s pulCount=%s", (unsigned long)slotID, set(pMechanismList),
             ulong_at(pulCount, rv, b0));
}

MT_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                   CK_MECHANISM_INFO_PTR pInfo)
{
    CALL_BEGIN();
    SLOT_CALL(pInfo != NULL, mt_get_mechanism_info(slotID, type, pInfo));
    CALL_END("slotID=%lu type=%lu pInfo=%s", (unsigned long)slotID, (unsigned long)type,
             set(pInfo));
}

/* Tokens are provisioned with the mailtoken tool, never wiped by a client. */
MT_EXPORT CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                            CK_UTF8CHAR_PTR pLabel)
{
    CALL_BEGIN();
    (void)slotID, (void)pPin, (void)ulPinLen, (void)pLabel;
    rv = not_supported();
    CALL_END("slotID=%lu pPin=%s ulPinLen=%lu pLabel=%s", (unsigned long)slotID, set(pPin),
             (unsigned long)ulPinLen, set(pLabel));
}

MT_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    CALL_BEGIN();
    SESSION_CALL(hSession, MT_CALL_SO | MT_CALL_RW, mt_init_pin(&c, pPin, ulPinLen));
    CALL_END("hSession=%lu pPin=%s ulPinLen=%lu", (unsigned long)hSession, set(pPin),
             (unsigned long)ulPinLen);
}

MT_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                         CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    CALL_BEGIN();
    SESSION_CALL(hSession, MT_CALL_RW, mt_set_pin(&c, pOldPin, ulOldLen, pNewPin, ulNewLen));
    CALL_END("hSession=%lu pOldPin=%s ulOldLen=%lu pNewPin=%s ulNewLen=%lu",
             (unsigned long)hSession, set(pOldPin), (unsigned long)ulOldLen, set(pNewPin),
             (unsigned long)ulNewLen);
}

/* ------------------------------------------------------------- sessions */

/* Application callbacks are accepted; the module never has a reason to call them. */
MT_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                              CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    CALL_BEGIN();
    (void)pApplication, (void)Notify;
    SLOT_CALL(phSession != NULL, mt_open_session(slotID, flags, phSession));
    CALL_END("slotID=%lu flags=0x%lx pApplication=%s Notify=%s phSession=%s", (unsigned long)slotID,
             (unsigned long)flags, set(pApplication), set(Notify), set(phSession));
}

MT_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_close_session(&c));
    CALL_END("hSession=%lu", (unsigned long)hSession);
}

MT_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CALL_BEGIN();
    SLOT_CALL(true, mt_close_all_sessions(slotID));
    CALL_END("slotID=%lu", (unsigned long)slotID);
}

MT_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_get_session_info(&c, pInfo));
    CALL_END("hSession=%lu pInfo=%s", (unsigned long)hSession, set(pInfo));
}

MT_EXPORT CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_session_cancel(&c, flags));
    CALL_END("hSession=%lu flags=0x%lx", (unsigned long)hSession, (unsigned long)flags);
}

MT_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG_PTR pulOperationStateLen)
{
    CALL_BEGIN();
    (void)hSession, (void)pOperationState, (void)pulOperationStateLen;
    rv = not_supported();
    CALL_END("hSession=%lu pOperationState=%s pulOperationStateLen=%s", (unsigned long)hSession,
             set(pOperationState), ulong_at(pulOperationStateLen, rv, b0));
}

MT_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                    CK_OBJECT_HANDLE hAuthenticationKey)
{
    CALL_BEGIN();
    (void)hSession, (void)pOperationState, (void)ulOperationStateLen, (void)hEncryptionKey,
        (void)hAuthenticationKey;
    rv = not_supported();
    CALL_END("hSession=%lu pOperationState=%s ulOperationStateLen=%lu hEncryptionKey=%lu "
             "hAuthenticationKey=%lu",
             (unsigned long)hSession, set(pOperationState), (unsigned long)ulOperationStateLen,
             (unsigned long)hEncryptionKey, (unsigned long)hAuthenticationKey);
}

MT_EXPORT CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                        CK_ULONG ulPinLen)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_login(&c, userType, pPin, ulPinLen));
    CALL_END("hSession=%lu userType=%lu pPin=%s ulPinLen=%lu", (unsigned long)hSession,
             (unsigned long)userType, set(pPin), (unsigned long)ulPinLen);
}

/* Accounts have no user names: the name, if any, is not checked. */
MT_EXPORT CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
                            CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
                            CK_ULONG ulUsernameLen)
{
    CALL_BEGIN();
    (void)pUsername, (void)ulUsernameLen;
    LOCKED(hSession, mt_login(&c, userType, pPin, ulPinLen));
    CALL_END("hSession=%lu userType=%lu pPin=%s ulPinLen=%lu pUsername=%s ulUsernameLen=%lu",
             (unsigned long)hSession, (unsigned long)userType, set(pPin), (unsigned long)ulPinLen,
             set(pUsername), (unsigned long)ulUsernameLen);
}

MT_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    CALL_BEGIN();
    SESSION_CALL(hSession, MT_CALL_LOGGED_IN, mt_logout(&c));
    CALL_END("hSession=%lu", (unsigned long)hSession);
}

/* -------------------------------------------------------------- objects */

MT_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_create_object(&c, pTemplate, ulCount, phObject));
    CALL_END("hSession=%lu pTemplate=%s ulCount=%lu phObject=%s", (unsigned long)hSession,
             set(pTemplate), (unsigned long)ulCount, set(phObject));
}

MT_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                             CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                             CK_OBJECT_HANDLE_PTR phNewObject)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_copy_object(&c, hObject, pTemplate, ulCount, phNewObject));
    CALL_END("hSession=%lu hObject=%lu pTemplate=%s ulCount=%lu phNewObject=%s",
             (unsigned long)hSession, (unsigned long)hObject, set(pTemplate),
             (unsigned long)ulCount, set(phNewObject));
}

MT_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_destroy_object(&c, hObject));
    CALL_END("hSession=%lu hObject=%lu", (unsigned long)hSession, (unsigned long)hObject);
}

MT_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                CK_ULONG_PTR pulSize)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_get_object_size(&c, hObject, pulSize));
    CALL_END("hSession=%lu hObject=%lu pulSize=%s", (unsigned long)hSession, (unsigned long)hObject,
             ulong_at(pulSize, rv, b0));
}

MT_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_get_attribute_value(&c, hObject, pTemplate, ulCount));
    CALL_END("hSession=%lu hObject=%lu pTemplate=%s ulCount=%lu", (unsigned long)hSession,
             (unsigned long)hObject, set(pTemplate), (unsigned long)ulCount);
}

MT_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_set_attribute_value(&c, hObject, pTemplate, ulCount));
    CALL_END("hSession=%lu hObject=%lu pTemplate=%s ulCount=%lu", (unsigned long)hSession,
             (unsigned long)hObject, set(pTemplate), (unsigned long)ulCount);
}

MT_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                  CK_ULONG ulCount)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_find_init(&c, pTemplate, ulCount));
    CALL_END("hSession=%lu pTemplate=%s ulCount=%lu", (unsigned long)hSession, set(pTemplate),
             (unsigned long)ulCount);
}

MT_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                              CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_find_next(&c, phObject, ulMaxObjectCount, pulObjectCount));
    CALL_END("hSession=%lu phObject=%s ulMaxObjectCount=%lu pulObjectCount=%s",
             (unsigned long)hSession, set(phObject), (unsigned long)ulMaxObjectCount,
             ulong_at(pulObjectCount, rv, b0));
}

MT_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_find_final(&c));
    CALL_END("hSession=%lu", (unsigned long)hSession);
}

/* ------------------------------------------------------------ encryption */

MT_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_op_init(&c, MT_OP_ENCRYPT, CKF_ENCRYPT, pMechanism, hKey));
    CALL_END("hSession=%lu pMechanism=%s hKey=%lu", (unsigned long)hSession,
             mechanism_at(pMechanism, b0), (unsigned long)hKey);
}

MT_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                          CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_encrypt(&c, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen));
    CALL_END("hSession=%lu pData=%s ulDataLen=%lu pEncryptedData=%s pulEncryptedDataLen=%s",
             (unsigned long)hSession, set(pData), (unsigned long)ulDataLen, set(pEncryptedData),
             ulong_at(pulEncryptedDataLen, rv, b0));
}

MT_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_encrypt_update(&c, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen));
    CALL_END("hSession=%lu pPart=%s ulPartLen=%lu pEncryptedPart=%s pulEncryptedPartLen=%s",
             (unsigned long)hSession, set(pPart), (unsigned long)ulPartLen, set(pEncryptedPart),
             ulong_at(pulEncryptedPartLen, rv, b0));
}

MT_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                               CK_ULONG_PTR pulLastEncryptedPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_encrypt_final(&c, pLastEncryptedPart, pulLastEncryptedPartLen));
    CALL_END("hSession=%lu pLastEncryptedPart=%s pulLastEncryptedPartLen=%s",
             (unsigned long)hSession, set(pLastEncryptedPart),
             ulong_at(pulLastEncryptedPartLen, rv, b0));
}

MT_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_op_init(&c, MT_OP_DECRYPT, CKF_DECRYPT, pMechanism, hKey));
    CALL_END("hSession=%lu pMechanism=%s hKey=%lu", (unsigned long)hSession,
             mechanism_at(pMechanism, b0), (unsigned long)hKey);
}

MT_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
                          CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_decrypt(&c, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen));
    CALL_END("hSession=%lu pEncryptedData=%s ulEncryptedDataLen=%lu pData=%s pulDataLen=%s",
             (unsigned long)hSession, set(pEncryptedData), (unsigned long)ulEncryptedDataLen,
             set(pData), ulong_at(pulDataLen, rv, b0));
}

MT_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                CK_ULONG_PTR pulPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_decrypt_update(&c, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen));
    CALL_END("hSession=%lu pEncryptedPart=%s ulEncryptedPartLen=%lu pPart=%s pulPartLen=%s",
             (unsigned long)hSession, set(pEncryptedPart), (unsigned long)ulEncryptedPartLen,
             set(pPart), ulong_at(pulPartLen, rv, b0));
}

MT_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
                               CK_ULONG_PTR pulLastPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_decrypt_final(&c, pLastPart, pulLastPartLen));
    CALL_END("hSession=%lu pLastPart=%s pulLastPartLen=%s", (unsigned long)hSession, set(pLastPart),
             ulong_at(pulLastPartLen, rv, b0));
}

/* --------------------------------------------------------------- digests */

MT_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_digest_init(&c, pMechanism));
    CALL_END("hSession=%lu pMechanism=%s", (unsigned long)hSession, mechanism_at(pMechanism, b0));
}

MT_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_digest(&c, pData, ulDataLen, pDigest, pulDigestLen));
    CALL_END("hSession=%lu pData=%s ulDataLen=%lu pDigest=%s pulDigestLen=%s",
             (unsigned long)hSession, set(pData), (unsigned long)ulDataLen, set(pDigest),
             ulong_at(pulDigestLen, rv, b0));
}

MT_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_digest_update(&c, pPart, ulPartLen));
    CALL_END("hSession=%lu pPart=%s ulPartLen=%lu", (unsigned long)hSession, set(pPart),
             (unsigned long)ulPartLen);
}

MT_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_digest_key(&c, hKey));
    CALL_END("hSession=%lu hKey=%lu", (unsigned long)hSession, (unsigned long)hKey);
}

MT_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
                              CK_ULONG_PTR pulDigestLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_digest_final(&c, pDigest, pulDigestLen));
    CALL_END("hSession=%lu pDigest=%s pulDigestLen=%s", (unsigned long)hSession, set(pDigest),
             ulong_at(pulDigestLen, rv, b0));
}

/* ------------------------------------------------------------ signatures */

MT_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_op_init(&c, MT_OP_SIGN, CKF_SIGN, pMechanism, hKey));
    CALL_END("hSession=%lu pMechanism=%s hKey=%lu", (unsigned long)hSession,
             mechanism_at(pMechanism, b0), (unsigned long)hKey);
}

MT_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_sign(&c, pData, ulDataLen, pSignature, pulSignatureLen));
    CALL_END("hSession=%lu pData=%s ulDataLen=%lu pSignature=%s pulSignatureLen=%s",
             (unsigned long)hSession, set(pData), (unsigned long)ulDataLen, set(pSignature),
             ulong_at(pulSignatureLen, rv, b0));
}

MT_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_sign_update(&c, pPart, ulPartLen));
    CALL_END("hSession=%lu pPart=%s ulPartLen=%lu", (unsigned long)hSession, set(pPart),
             (unsigned long)ulPartLen);
}

MT_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                            CK_ULONG_PTR pulSignatureLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_sign_final(&c, pSignature, pulSignatureLen));
    CALL_END("hSession=%lu pSignature=%s pulSignatureLen=%s", (unsigned long)hSession,
             set(pSignature), ulong_at(pulSignatureLen, rv, b0));
}

MT_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    (void)hSession, (void)pMechanism, (void)hKey;
    rv = not_supported();
    CALL_END("hSession=%lu pMechanism=%s hKey=%lu", (unsigned long)hSession,
             mechanism_at(pMechanism, b0), (unsigned long)hKey);
}

MT_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CALL_BEGIN();
    (void)hSession, (void)pData, (void)ulDataLen, (void)pSignature, (void)pulSignatureLen;
    rv = not_supported();
    CALL_END("hSession=%lu pData=%s ulDataLen=%lu pSignature=%s pulSignatureLen=%s",
             (unsigned long)hSession, set(pData), (unsigned long)ulDataLen, set(pSignature),
             ulong_at(pulSignatureLen, rv, b0));
}

MT_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                             CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_op_init(&c, MT_OP_VERIFY, CKF_VERIFY, pMechanism, hKey));
    CALL_END("hSession=%lu pMechanism=%s hKey=%lu", (unsigned long)hSession,
             mechanism_at(pMechanism, b0), (unsigned long)hKey);
}

MT_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_verify(&c, pData, ulDataLen, pSignature, ulSignatureLen));
    CALL_END("hSession=%lu pData=%s ulDataLen=%lu pSignature=%s ulSignatureLen=%lu",
             (unsigned long)hSession, set(pData), (unsigned long)ulDataLen, set(pSignature),
             (unsigned long)ulSignatureLen);
}

MT_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_verify_update(&c, pPart, ulPartLen));
    CALL_END("hSession=%lu pPart=%s ulPartLen=%lu", (unsigned long)hSession, set(pPart),
             (unsigned long)ulPartLen);
}

MT_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                              CK_ULONG ulSignatureLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_verify_final(&c, pSignature, ulSignatureLen));
    CALL_END("hSession=%lu pSignature=%s ulSignatureLen=%lu", (unsigned long)hSession,
             set(pSignature), (unsigned long)ulSignatureLen);
}

MT_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                    CK_OBJECT_HANDLE hKey)
{
    CALL_BEGIN();
    (void)hSession, (void)pMechanism, (void)hKey;
    rv = not_supported();
    CALL_END("hSession=%lu pMechanism=%s hKey=%lu", (unsigned long)hSession,
             mechanism_at(pMechanism, b0), (unsigned long)hKey);
}

MT_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                                CK_ULONG ulSignatureLen, CK_BYTE_PTR pData,
                                CK_ULONG_PTR pulDataLen)
{
    CALL_BEGIN();
    (void)hSession, (void)pSignature, (void)ulSignatureLen, (void)pData, (void)pulDataLen;
    rv = not_supported();
    CALL_END("hSession=%lu pSignature=%s ulSignatureLen=%lu pData=%s pulDataLen=%s",
             (unsigned long)hSession, set(pSignature), (unsigned long)ulSignatureLen, set(pData),
             ulong_at(pulDataLen, rv, b0));
}

/* ------------------------------------------------- dual-function (none) */

typedef CK_RV dual_fn(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);

static CK_RV dual_not_supported(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                                CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    (void)h, (void)in, (void)in_len, (void)out, (void)out_len;
    return not_supported_as("C_*Update (dual-function)");
}

MT_EXPORT dual_fn C_DigestEncryptUpdate __attribute__((alias("dual_not_supported")));
MT_EXPORT dual_fn C_DecryptDigestUpdate __attribute__((alias("dual_not_supported")));
MT_EXPORT dual_fn C_SignEncryptUpdate __attribute__((alias("dual_not_supported")));
MT_EXPORT dual_fn C_DecryptVerifyUpdate __attribute__((alias("dual_not_supported")));

/* ----------------------------------------------------------------- keys */

MT_EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                              CK_OBJECT_HANDLE_PTR phKey)
{
    CALL_BEGIN();
    LOCKED(hSession, !pMechanism || !phKey || (!pTemplate && ulCount) ? CKR_ARGUMENTS_BAD
                                                                      : CKR_MECHANISM_INVALID);
    CALL_END("hSession=%lu pMechanism=%s pTemplate=%s ulCount=%lu phKey=%s",
             (unsigned long)hSession, mechanism_at(pMechanism, b0), set(pTemplate),
             (unsigned long)ulCount, set(phKey));
}

MT_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                                  CK_ULONG ulPublicKeyAttributeCount,
                                  CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                                  CK_ULONG ulPrivateKeyAttributeCount,
                                  CK_OBJECT_HANDLE_PTR phPublicKey,
                                  CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    CALL_BEGIN();
    bool bad = !pMechanism || !phPublicKey || !phPrivateKey ||
               (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
               (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount);
    LOCKED(hSession, bad ? CKR_ARGUMENTS_BAD : CKR_MECHANISM_INVALID);
    CALL_END("hSession=%lu pMechanism=%s pPublicKeyTemplate=%s ulPublicKeyAttributeCount=%lu "
             "pPrivateKeyTemplate=%s ulPrivateKeyAttributeCount=%lu phPublicKey=%s phPrivateKey=%s",
             (unsigned long)hSession, mechanism_at(pMechanism, b0), set(pPublicKeyTemplate),
             (unsigned long)ulPublicKeyAttributeCount, set(pPrivateKeyTemplate),
             (unsigned long)ulPrivateKeyAttributeCount, set(phPublicKey), set(phPrivateKey));
}

MT_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                          CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
    CALL_BEGIN();
    LOCKED(hSession,
           mt_wrap_key(&c, pMechanism, hWrappingKey, hKey, pWrappedKey, pulWrappedKeyLen));
    CALL_END("hSession=%lu pMechanism=%s hWrappingKey=%lu hKey=%lu pWrappedKey=%s pulWrappedKeyLen=%s",
             (unsigned long)hSession, mechanism_at(pMechanism, b0), (unsigned long)hWrappingKey,
             (unsigned long)hKey, set(pWrappedKey), ulong_at(pulWrappedKeyLen, rv, b1));
}

MT_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                            CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_unwrap_key(&c, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen,
                                   pTemplate, ulAttributeCount, phKey));
    CALL_END("hSession=%lu pMechanism=%s hUnwrappingKey=%lu pWrappedKey=%s ulWrappedKeyLen=%lu pTemplate=%s ulAttributeCount=%lu phKey=%s",
             (unsigned long)hSession, mechanism_at(pMechanism, b0), (unsigned long)hUnwrappingKey,
             set(pWrappedKey), (unsigned long)ulWrappedKeyLen, set(pTemplate),
             (unsigned long)ulAttributeCount, set(phKey));
}

MT_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_derive_key(&c, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey));
    CALL_END("hSession=%lu pMechanism=%s hBaseKey=%lu pTemplate=%s ulAttributeCount=%lu phKey=%s",
             (unsigned long)hSession, mechanism_at(pMechanism, b0), (unsigned long)hBaseKey,
             set(pTemplate), (unsigned long)ulAttributeCount, set(phKey));
}

/* --------------------------------------------------------------- random */

MT_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    CALL_BEGIN();
    LOCKED(hSession, mt_seed_random(&c, pSeed, ulSeedLen));
    CALL_END("hSession=%lu pSeed=%s ulSeedLen=%lu", (unsigned long)hSession, set(pSeed),
             (unsigned long)ulSeedLen);
}

MT_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
                                 CK_ULONG ulRandomLen)
{
    CALL_BEGIN();
    UNLOCKED(hSession, mt_generate_random(&c, RandomData, ulRandomLen));
    CALL_END("hSession=%lu RandomData=%s ulRandomLen=%lu", (unsigned long)hSession, set(RandomData),
             (unsigned long)ulRandomLen);
}

/* ---------------------------------------------------------------- legacy */

MT_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    CALL_BEGIN();
    LOCKED(hSession, CKR_FUNCTION_NOT_PARALLEL);
    CALL_END("hSession=%lu", (unsigned long)hSession);
}

MT_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    CALL_BEGIN();
    LOCKED(hSession, CKR_FUNCTION_NOT_PARALLEL);
    CALL_END("hSession=%lu", (unsigned long)hSession);
}

/* ------------------------------------------- 3.0 message functions (none) */

static CK_RV message_init_not_supported(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                                        CK_OBJECT_HANDLE k)
{
    (void)h, (void)m, (void)k;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV message_final_not_supported(CK_SESSION_HANDLE h)
{
    (void)h;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV message_one_shot_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                            CK_BYTE_PTR ad, CK_ULONG adl, CK_BYTE_PTR in,
                                            CK_ULONG inl, CK_BYTE_PTR out, CK_ULONG_PTR outl)
{
    (void)h, (void)p, (void)pl, (void)ad, (void)adl, (void)in, (void)inl, (void)out, (void)outl;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV message_begin_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                         CK_BYTE_PTR ad, CK_ULONG adl)
{
    (void)h, (void)p, (void)pl, (void)ad, (void)adl;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV message_next_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                        CK_BYTE_PTR in, CK_ULONG inl, CK_BYTE_PTR out,
                                        CK_ULONG_PTR outl, CK_FLAGS f)
{
    (void)h, (void)p, (void)pl, (void)in, (void)inl, (void)out, (void)outl, (void)f;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV sign_message_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                        CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR s,
                                        CK_ULONG_PTR sl)
{
    (void)h, (void)p, (void)pl, (void)d, (void)dl, (void)s, (void)sl;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV sign_message_begin_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl)
{
    (void)h, (void)p, (void)pl;
    return not_supported_as("C_*Message* (message-based)");
}

static CK_RV verify_message_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                          CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR s, CK_ULONG sl)
{
    (void)h, (void)p, (void)pl, (void)d, (void)dl, (void)s, (void)sl;
    return not_supported_as("C_*Message* (message-based)");
}

/* --------------------------------------------------------- function lists */

#define FUNCTIONS_2_40                                                                         \
    C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo,      \
        C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN,        \
        C_SetPIN, C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo,         \
        C_GetOperationState, C_SetOperationState, C_Login, C_Logout, C_CreateObject,           \
        C_CopyObject, C_DestroyObject, C_GetObjectSize, C_GetAttributeValue,                   \
        C_SetAttributeValue, C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal,             \
        C_EncryptInit, C_Encrypt, C_EncryptUpdate, C_EncryptFinal, C_DecryptInit, C_Decrypt,   \
        C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey,  \
        C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal, C_SignRecoverInit,       \
        C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal,                  \
        C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate, C_DecryptDigestUpdate,    \
        C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair,          \
        C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,                   \
        C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

CK_FUNCTION_LIST mt_function_list = {{2, 40}, FUNCTIONS_2_40};

CK_FUNCTION_LIST_3_0 mt_function_list_3_0 = {
    {3, 0},
    FUNCTIONS_2_40,
    C_GetInterfaceList,
    C_GetInterface,
    C_LoginUser,
    C_SessionCancel,
    message_init_not_supported,
    message_one_shot_not_supported,
    message_begin_not_supported,
    message_next_not_supported,
    message_final_not_supported,
    message_init_not_supported,
    message_one_shot_not_supported,
    message_begin_not_supported,
    message_next_not_supported,
    message_final_not_supported,
    message_init_not_supported,
    sign_message_not_supported,
    sign_message_begin_not_supported,
    sign_message_not_supported,
    message_final_not_supported,
    message_init_not_supported,
    verify_message_not_supported,
    sign_message_begin_not_supported,
    verify_message_not_supported,
    message_final_not_supported,
};
