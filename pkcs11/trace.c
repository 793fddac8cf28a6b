/* The module's trace: what a client's user never sees (the module runs in a
 * mail client, whose console is not ours to write to) but an administrator
 * may ask for.  MAILTOKEN_DEBUG=stderr writes to the client's stderr,
 * MAILTOKEN_DEBUG=/path appends to that file (created 0600); unset, nothing. */
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mt_trace(const char *fmt, ...)
{
    const char *where = getenv("MAILTOKEN_DEBUG");
    if (!where || !*where)
        return;
    char line[2048];
    int n = snprintf(line, sizeof(line), "mailtoken-pkcs11[%ld]: ", (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    int saved = errno; /* a trace never changes what the caller sees */
    bool own = strcmp(where, "stderr") != 0;
    int fd = own ? open(where, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600)
                 : STDERR_FILENO;
    if (fd >= 0) {
        /* one write per line: lines of several threads or processes never mix */
        if (write(fd, line, (size_t)n) < 0) {
            /* nowhere to report it */
        }
        if (own)
            close(fd);
    }
    errno = saved;
}
