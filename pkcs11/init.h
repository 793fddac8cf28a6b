/* What C_Initialize reads: its arguments and reserved string, copied
 * without trusting the pointers (init_args.c), and the account filter
 * they may carry (filter.c). */
#ifndef MT_PKCS11_INIT_H
#define MT_PKCS11_INIT_H

#include "pkcs11_v3.h"

#include "mailtoken/store.h"

#include <stdbool.h>

/* CKR_ARGUMENTS_BAD when they cannot be read */
CK_RV mt_init_args_copy(const void *args, CK_C_INITIALIZE_ARGS *out);
CK_RV mt_init_reserved_copy(const void *reserved, char **out);

CK_RV mt_filter_from_init_string(const char *text, mt_account_filter *out);
bool mt_filter_accepts(const mt_account_filter *filter, const mt_token_brief *token);

#endif
