/* The kill tests' hook (MT_RENEW_KILL_AT): the process SIGKILLs itself at a
 * chosen point of a renewal, to prove that `renew resume` carries on from any
 * of them.  Never set it in production. */
#ifndef MT_RENEW_KILLPOINT_H
#define MT_RENEW_KILLPOINT_H

#include <stdbool.h>

#include "mailtoken/store.h"

/* MT_RENEW_KILL_AT=<state name>: right after that state is stored. */
void mt_renew_kill_hook(mt_renewal_state state);

/* Around every CA request of the process, numbered from 1:
 * MT_RENEW_KILL_AT=send:N before the N-th request goes out;
 * MT_RENEW_KILL_AT=received:N once its answer has arrived, before any of it
 * is read or recorded.  The request is named on stderr first. */
void mt_renew_kill_request(bool received, const char *method, const char *url);

#endif
