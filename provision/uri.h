/* The RFC 7512 URI of an account's token (cmd_uri.c), shared by the commands
 * that name a token to a client (uri, p11-server). */
#ifndef MT_URI_H
#define MT_URI_H

#include "cli.h"

/* The token's URI (model, manufacturer, serial, label); with type "cert",
 * "private" or "public", the primary certificate's object of that class.
 * label and serial receive the token's; *out is malloc'd. */
mt_status mt_uri_build(mt_store *store, const mt_account *account, const char *type,
                       char label[33], char serial[17], char **out);

#endif
