/* The kill tests' hook: see killpoint.h. */
#include "renew/killpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_renew_kill_hook(mt_renewal_state state)
{
    const char *at = getenv("MT_RENEW_KILL_AT");
    if (at && strcmp(at, mt_renewal_state_name(state)) == 0)
        raise(SIGKILL);
}

void mt_renew_kill_request(bool received, const char *method, const char *url)
{
    static unsigned sent; /* requests of this process so far */
    const char *at = getenv("MT_RENEW_KILL_AT");
    const char *phase = received ? "received:" : "send:";
    if (!received)
        sent++;
    if (!at || strncmp(at, phase, strlen(phase)) != 0)
        return;
    char *end = NULL;
    unsigned long n = strtoul(at + strlen(phase), &end, 10);
    if (end && !*end && n == sent) {
        fprintf(stderr, "MT_RENEW_KILL_AT=%s: %s %s\n", at, method, url);
        fflush(stderr);
        raise(SIGKILL);
    }
}
