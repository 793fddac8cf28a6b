/* The C_* entry points: thin, uniform.  Session calls go through one wrapper
 * (initialised? session valid? lock) and call the module's plain C. */
#include "module.h"

#include <string.h>

#define MT_EXPORT __attribute__((visibility("default")))

#define SESSION_CALL(h, flags, expr)                                                           \
    do {                                                                                       \
        mt_call c;                                                                             \
        CK_RV rv_ = mt_call_begin(&c, (h), (flags));                                           \
        if (rv_ == CKR_OK)                                                                     \
            rv_ = (expr);                                                                      \
        return mt_call_end(&c, rv_);                                                           \
    } while (0)
/* Under the module lock (object lookups, logins, *Init). */
#define LOCKED(h, expr) SESSION_CALL(h, 0, expr)
/* Operation steps: the session is held, the lock is not (no lock during crypto). */
#define UNLOCKED(h, expr) SESSION_CALL(h, MT_CALL_UNLOCKED, expr)

/* What the module does not do: said only once it is initialised, as every
 * other function says CKR_CRYPTOKI_NOT_INITIALIZED first. */
static CK_RV not_supported(void)
{
    CK_RV rv = mt_check_initialised();
    return rv == CKR_OK ? CKR_FUNCTION_NOT_SUPPORTED : rv;
}

/* ------------------------------------------------------------- general */

MT_EXPORT CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    return mt_initialize(pInitArgs);
}

MT_EXPORT CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    return mt_finalize(pReserved);
}

MT_EXPORT CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    return mt_get_info(pInfo);
}

MT_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (!ppFunctionList)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &mt_function_list;
    return CKR_OK;
}

MT_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    return mt_get_interface_list(pInterfacesList, pulCount);
}

MT_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                               CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    return mt_get_interface(pInterfaceName, pVersion, ppInterface, flags);
}

/* ------------------------------------------------------ slots and tokens */

MT_EXPORT CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
                              CK_ULONG_PTR pulCount)
{
    return mt_get_slot_list(tokenPresent, pSlotList, pulCount);
}

MT_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    return mt_get_slot_info(slotID, pInfo);
}

MT_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    return mt_get_token_info(slotID, pInfo);
}

MT_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    return mt_wait_for_slot_event(flags, pSlot, pReserved);
}

MT_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                   CK_ULONG_PTR pulCount)
{
    return mt_get_mechanism_list(slotID, pMechanismList, pulCount);
}

MT_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                   CK_MECHANISM_INFO_PTR pInfo)
{
    return mt_get_mechanism_info(slotID, type, pInfo);
}

/* Tokens are provisioned with the mailtoken tool, never wiped by a client. */
MT_EXPORT CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                            CK_UTF8CHAR_PTR pLabel)
{
    (void)slotID, (void)pPin, (void)ulPinLen, (void)pLabel;
    return not_supported();
}

MT_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    LOCKED(hSession, mt_init_pin(&c, pPin, ulPinLen));
}

MT_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                         CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    LOCKED(hSession, mt_set_pin(&c, pOldPin, ulOldLen, pNewPin, ulNewLen));
}

/* ------------------------------------------------------------- sessions */

/* Application callbacks are accepted; the module never has a reason to call them. */
MT_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                              CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    (void)pApplication, (void)Notify;
    return mt_open_session(slotID, flags, phSession);
}

MT_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    LOCKED(hSession, mt_close_session(&c));
}

MT_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    return mt_close_all_sessions(slotID);
}

MT_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    LOCKED(hSession, mt_get_session_info(&c, pInfo));
}

MT_EXPORT CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    static const CK_FLAGS op_flags[MT_OP_COUNT] = {CKF_SIGN, CKF_VERIFY, CKF_ENCRYPT, CKF_DECRYPT,
                                                   CKF_DIGEST};
    mt_call c;
    CK_RV rv = mt_call_begin(&c, hSession, 0);
    for (size_t i = 0; rv == CKR_OK && i < MT_OP_COUNT; i++)
        if (flags & op_flags[i])
            mt_op_reset(&c.session->ops[i]);
    if (rv == CKR_OK && (flags & CKF_FIND_OBJECTS) && c.session->find.active)
        mt_find_final(&c);
    return mt_call_end(&c, rv);
}

MT_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG_PTR pulOperationStateLen)
{
    (void)hSession, (void)pOperationState, (void)pulOperationStateLen;
    return not_supported();
}

MT_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                    CK_OBJECT_HANDLE hAuthenticationKey)
{
    (void)hSession, (void)pOperationState, (void)ulOperationStateLen, (void)hEncryptionKey,
        (void)hAuthenticationKey;
    return not_supported();
}

MT_EXPORT CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                        CK_ULONG ulPinLen)
{
    LOCKED(hSession, mt_login(&c, userType, pPin, ulPinLen));
}

/* Accounts have no user names: the name, if any, is not checked. */
MT_EXPORT CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
                            CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
                            CK_ULONG ulUsernameLen)
{
    (void)pUsername, (void)ulUsernameLen;
    LOCKED(hSession, mt_login(&c, userType, pPin, ulPinLen));
}

MT_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    LOCKED(hSession, mt_logout(&c));
}

/* -------------------------------------------------------------- objects */

MT_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    LOCKED(hSession, mt_create_object(&c, pTemplate, ulCount, phObject));
}

MT_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                             CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                             CK_OBJECT_HANDLE_PTR phNewObject)
{
    LOCKED(hSession, mt_copy_object(&c, hObject, pTemplate, ulCount, phNewObject));
}

MT_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    LOCKED(hSession, mt_destroy_object(&c, hObject));
}

MT_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                CK_ULONG_PTR pulSize)
{
    LOCKED(hSession, mt_get_object_size(&c, hObject, pulSize));
}

MT_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    LOCKED(hSession, mt_get_attribute_value(&c, hObject, pTemplate, ulCount));
}

MT_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    LOCKED(hSession, mt_set_attribute_value(&c, hObject, pTemplate, ulCount));
}

MT_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                  CK_ULONG ulCount)
{
    LOCKED(hSession, mt_find_init(&c, pTemplate, ulCount));
}

MT_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                              CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    LOCKED(hSession, mt_find_next(&c, phObject, ulMaxObjectCount, pulObjectCount));
}

MT_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    LOCKED(hSession, mt_find_final(&c));
}

/* ------------------------------------------------------------ encryption */

MT_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
    LOCKED(hSession, mt_op_init(&c, MT_OP_ENCRYPT, CKF_ENCRYPT, pMechanism, hKey));
}

MT_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                          CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    UNLOCKED(hSession, mt_encrypt(&c, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen));
}

MT_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    UNLOCKED(hSession, mt_encrypt_update(&c, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen));
}

MT_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                               CK_ULONG_PTR pulLastEncryptedPartLen)
{
    UNLOCKED(hSession, mt_encrypt_final(&c, pLastEncryptedPart, pulLastEncryptedPartLen));
}

MT_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
    LOCKED(hSession, mt_op_init(&c, MT_OP_DECRYPT, CKF_DECRYPT, pMechanism, hKey));
}

MT_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
                          CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    UNLOCKED(hSession, mt_decrypt(&c, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen));
}

MT_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                CK_ULONG_PTR pulPartLen)
{
    UNLOCKED(hSession, mt_decrypt_update(&c, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen));
}

MT_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
                               CK_ULONG_PTR pulLastPartLen)
{
    UNLOCKED(hSession, mt_decrypt_final(&c, pLastPart, pulLastPartLen));
}

/* --------------------------------------------------------------- digests */

MT_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    LOCKED(hSession, mt_digest_init(&c, pMechanism));
}

MT_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    UNLOCKED(hSession, mt_digest(&c, pData, ulDataLen, pDigest, pulDigestLen));
}

MT_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    UNLOCKED(hSession, mt_digest_update(&c, pPart, ulPartLen));
}

MT_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    LOCKED(hSession, mt_digest_key(&c, hKey));
}

MT_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
                              CK_ULONG_PTR pulDigestLen)
{
    UNLOCKED(hSession, mt_digest_final(&c, pDigest, pulDigestLen));
}

/* ------------------------------------------------------------ signatures */

MT_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey)
{
    LOCKED(hSession, mt_op_init(&c, MT_OP_SIGN, CKF_SIGN, pMechanism, hKey));
}

MT_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    UNLOCKED(hSession, mt_sign(&c, pData, ulDataLen, pSignature, pulSignatureLen));
}

MT_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    UNLOCKED(hSession, mt_sign_update(&c, pPart, ulPartLen));
}

MT_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                            CK_ULONG_PTR pulSignatureLen)
{
    UNLOCKED(hSession, mt_sign_final(&c, pSignature, pulSignatureLen));
}

MT_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
    (void)hSession, (void)pMechanism, (void)hKey;
    return not_supported();
}

MT_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)hSession, (void)pData, (void)ulDataLen, (void)pSignature, (void)pulSignatureLen;
    return not_supported();
}

MT_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                             CK_OBJECT_HANDLE hKey)
{
    LOCKED(hSession, mt_op_init(&c, MT_OP_VERIFY, CKF_VERIFY, pMechanism, hKey));
}

MT_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    UNLOCKED(hSession, mt_verify(&c, pData, ulDataLen, pSignature, ulSignatureLen));
}

MT_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    UNLOCKED(hSession, mt_verify_update(&c, pPart, ulPartLen));
}

MT_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                              CK_ULONG ulSignatureLen)
{
    UNLOCKED(hSession, mt_verify_final(&c, pSignature, ulSignatureLen));
}

MT_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                    CK_OBJECT_HANDLE hKey)
{
    (void)hSession, (void)pMechanism, (void)hKey;
    return not_supported();
}

MT_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                                CK_ULONG ulSignatureLen, CK_BYTE_PTR pData,
                                CK_ULONG_PTR pulDataLen)
{
    (void)hSession, (void)pSignature, (void)ulSignatureLen, (void)pData, (void)pulDataLen;
    return not_supported();
}

/* ------------------------------------------------- dual-function (none) */

typedef CK_RV dual_fn(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);

static CK_RV dual_not_supported(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                                CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    (void)h, (void)in, (void)in_len, (void)out, (void)out_len;
    return not_supported();
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
    LOCKED(hSession, !pMechanism || !phKey || (!pTemplate && ulCount) ? CKR_ARGUMENTS_BAD
                                                                      : CKR_MECHANISM_INVALID);
}

MT_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                                  CK_ULONG ulPublicKeyAttributeCount,
                                  CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                                  CK_ULONG ulPrivateKeyAttributeCount,
                                  CK_OBJECT_HANDLE_PTR phPublicKey,
                                  CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    bool bad = !pMechanism || !phPublicKey || !phPrivateKey ||
               (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
               (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount);
    LOCKED(hSession, bad ? CKR_ARGUMENTS_BAD : CKR_MECHANISM_INVALID);
}

MT_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                          CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
    LOCKED(hSession,
           mt_wrap_key(&c, pMechanism, hWrappingKey, hKey, pWrappedKey, pulWrappedKeyLen));
}

MT_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                            CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    LOCKED(hSession, mt_unwrap_key(&c, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen,
                                   pTemplate, ulAttributeCount, phKey));
}

MT_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    LOCKED(hSession, mt_derive_key(&c, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey));
}

/* --------------------------------------------------------------- random */

MT_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    LOCKED(hSession, mt_seed_random(&c, pSeed, ulSeedLen));
}

MT_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
                                 CK_ULONG ulRandomLen)
{
    UNLOCKED(hSession, mt_generate_random(&c, RandomData, ulRandomLen));
}

/* ---------------------------------------------------------------- legacy */

MT_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    LOCKED(hSession, CKR_FUNCTION_NOT_PARALLEL);
}

MT_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    LOCKED(hSession, CKR_FUNCTION_NOT_PARALLEL);
}

/* ------------------------------------------- 3.0 message functions (none) */

static CK_RV message_init_not_supported(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                                        CK_OBJECT_HANDLE k)
{
    (void)h, (void)m, (void)k;
    return not_supported();
}

static CK_RV message_final_not_supported(CK_SESSION_HANDLE h)
{
    (void)h;
    return not_supported();
}

static CK_RV message_one_shot_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                            CK_BYTE_PTR ad, CK_ULONG adl, CK_BYTE_PTR in,
                                            CK_ULONG inl, CK_BYTE_PTR out, CK_ULONG_PTR outl)
{
    (void)h, (void)p, (void)pl, (void)ad, (void)adl, (void)in, (void)inl, (void)out, (void)outl;
    return not_supported();
}

static CK_RV message_begin_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                         CK_BYTE_PTR ad, CK_ULONG adl)
{
    (void)h, (void)p, (void)pl, (void)ad, (void)adl;
    return not_supported();
}

static CK_RV message_next_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                        CK_BYTE_PTR in, CK_ULONG inl, CK_BYTE_PTR out,
                                        CK_ULONG_PTR outl, CK_FLAGS f)
{
    (void)h, (void)p, (void)pl, (void)in, (void)inl, (void)out, (void)outl, (void)f;
    return not_supported();
}

static CK_RV sign_message_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                        CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR s,
                                        CK_ULONG_PTR sl)
{
    (void)h, (void)p, (void)pl, (void)d, (void)dl, (void)s, (void)sl;
    return not_supported();
}

static CK_RV sign_message_begin_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl)
{
    (void)h, (void)p, (void)pl;
    return not_supported();
}

static CK_RV verify_message_not_supported(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
                                          CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR s, CK_ULONG sl)
{
    (void)h, (void)p, (void)pl, (void)d, (void)dl, (void)s, (void)sl;
    return not_supported();
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
