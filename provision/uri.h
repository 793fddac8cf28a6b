/* The RFC 7512 URI of an account's token and of its primary's objects, as
 * the PKCS#11 module presents them (cmd_uri.c): `mailtoken uri`, `mailtoken
 * p11-server setup` and the API's GET email-accounts/{email}/uri. */
#ifndef MT_URI_H
#define MT_URI_H

#include <jansson.h>
#include <stdbool.h>

#include "mailtoken/store.h"

/* Shared with the module: how every mailtoken token identifies itself. */
#define MT_TOKEN_MANUFACTURER "mailtoken"
#define MT_TOKEN_MODEL "mailtoken token"

/* type: NULL (the token), "cert", "private" or "public" (the primary's
 * object of that class: MT_ERR_NOT_FOUND when it has no key objects). */
bool mt_uri_type_valid(const char *type);
mt_status mt_uri_build(mt_store *store, const mt_account *account, const char *type,
                       char label[33], char serial[17], char **out);
/* {"email", "uri", "token": {"label", "serial", "manufacturer", "model"}} */
json_t *mt_uri_json(const mt_account *account, const char *uri, const char *label,
                    const char *serial);

#endif
