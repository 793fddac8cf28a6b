/* CA credentials file: `login = ...`, `password = ...` (and for InterNetX
 * `context = N`) lines, `#` comments.  Must be 0600 (no group/other access);
 * read only when a request needs it; never logged. */
#ifndef MT_RENEW_CREDS_H
#define MT_RENEW_CREDS_H

#include "mailtoken/store.h"

typedef struct mt_ca_creds {
    char *login;
    char *context;       /* NULL when absent */
    mt_secret *password;
} mt_ca_creds;

/* Refuses a file that group or others may read or write (MT_ERR_INVALID naming it). */
mt_status mt_ca_creds_check_mode(const char *path);
mt_status mt_ca_creds_load(const char *path, mt_ca_creds **out);
void mt_ca_creds_free(mt_ca_creds *creds);

#endif
