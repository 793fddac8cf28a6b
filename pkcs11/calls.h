/* The module's side of each C_* function, called by p11.c inside the
 * call's rules (call.h): a session call gets its checked mt_call. */
#ifndef MT_PKCS11_CALLS_H
#define MT_PKCS11_CALLS_H

#include "call.h"
#include "mech.h"
#include "pkcs11_v3.h"

/* general.c */
CK_RV mt_initialize(CK_VOID_PTR init_args);
CK_RV mt_finalize(CK_VOID_PTR reserved);
CK_RV mt_get_info(CK_INFO_PTR info);
CK_RV mt_get_interface_list(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV mt_get_interface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR out,
                       CK_FLAGS flags);

/* slot.c, token.c: under mt_call_begin_slot */
CK_RV mt_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
CK_RV mt_get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info);
CK_RV mt_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved);
CK_RV mt_get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info);
CK_RV mt_get_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV mt_get_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

/* session.c */
CK_RV mt_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out);
CK_RV mt_close_session(mt_call *call);
CK_RV mt_close_all_sessions(CK_SLOT_ID id);
CK_RV mt_get_session_info(mt_call *call, CK_SESSION_INFO_PTR info);
CK_RV mt_session_cancel(mt_call *call, CK_FLAGS flags);

/* login.c */
CK_RV mt_login(mt_call *call, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV mt_logout(mt_call *call);
CK_RV mt_init_pin(mt_call *call, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV mt_set_pin(mt_call *call, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                 CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len);

/* object.c, object_edit.c, find.c */
CK_RV mt_get_attribute_value(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                             CK_ULONG count);
CK_RV mt_get_object_size(mt_call *call, CK_OBJECT_HANDLE h, CK_ULONG_PTR size);
CK_RV mt_destroy_object(mt_call *call, CK_OBJECT_HANDLE h);
CK_RV mt_create_object(mt_call *call, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                       CK_OBJECT_HANDLE_PTR out);
CK_RV mt_copy_object(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                     CK_OBJECT_HANDLE_PTR out);
CK_RV mt_set_attribute_value(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                             CK_ULONG count);
CK_RV mt_find_init(mt_call *call, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count);
CK_RV mt_find_next(mt_call *call, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count);
CK_RV mt_find_final(mt_call *call);

/* operation.c; sign.c, verify.c, encrypt.c, decrypt.c, digest.c */
/* crypto operations (sign.c, verify.c, encrypt.c, decrypt.c, digest.c) */
CK_RV mt_op_init(mt_call *call, mt_op_kind kind, CK_FLAGS flag, CK_MECHANISM_PTR m,
                 CK_OBJECT_HANDLE key);
CK_RV mt_sign(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV mt_sign_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len);
CK_RV mt_sign_final(mt_call *call, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV mt_verify(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV mt_verify_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len);
CK_RV mt_verify_final(mt_call *call, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV mt_encrypt(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_encrypt_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len);
CK_RV mt_encrypt_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_decrypt(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_decrypt_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len);
CK_RV mt_decrypt_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_digest_init(mt_call *call, CK_MECHANISM_PTR m);
CK_RV mt_digest(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_digest_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len);
CK_RV mt_digest_key(mt_call *call, CK_OBJECT_HANDLE key);
CK_RV mt_digest_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* derive.c, unwrap.c, wrap.c, random.c */
CK_RV mt_derive_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
                    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out);
CK_RV mt_unwrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, CK_BYTE_PTR wrapped,
                    CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                    CK_OBJECT_HANDLE_PTR out);
CK_RV mt_wrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wrapping,
                  CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_generate_random(mt_call *call, CK_BYTE_PTR out, CK_ULONG len);
CK_RV mt_seed_random(mt_call *call, CK_BYTE_PTR seed, CK_ULONG len);

#endif
