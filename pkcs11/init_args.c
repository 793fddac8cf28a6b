/* C_Initialize's pReserved: NSS passes its module parameters there, p11-kit
 * the x-init-reserved string, a careless client anything at all, (void *)1
 * included.  The string is copied through process_vm_readv on this very
 * process, a page at a time: an address that cannot be read is EFAULT, not
 * a crash.  It must end within 4 KiB.  Where the system call is not allowed
 * (a seccomp sandbox), the pointer is trusted as any other argument is. */
#include "module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_RESERVED 4096u

/* Bytes readable at `from`, up to the end of its page: -1 on EFAULT, -2
 * when the system call is not there to ask. */
static ssize_t read_chunk(const uint8_t *from, uint8_t *to, size_t max)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = page - (uintptr_t)from % page;
    if (len > max)
        len = max;
    struct iovec local = {to, len}, remote = {(void *)from, len};
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (n < 0 && (errno == ENOSYS || errno == EPERM))
        return -2;
    return n < 0 ? -1 : n;
}

CK_RV mt_init_reserved_copy(const void *reserved, char **out)
{
    const uint8_t *from = reserved;
    uint8_t *copy = NULL;
    size_t have = 0;
    bool ended = false;
    *out = NULL;
    if (!reserved)
        return CKR_OK;
    if (!(copy = malloc(MAX_RESERVED)))
        return CKR_HOST_MEMORY;
    while (have < MAX_RESERVED && !ended) {
        ssize_t n = read_chunk(from + have, copy + have, MAX_RESERVED - have);
        if (n == -2) { /* no way to ask: read as any other argument is */
            have = strnlen(reserved, MAX_RESERVED);
            ended = have < MAX_RESERVED;
            if (ended)
                memcpy(copy, reserved, have + 1);
            break;
        }
        if (n <= 0)
            break;
        ended = memchr(copy + have, '\0', (size_t)n) != NULL;
        have += (size_t)n;
    }
    if (!ended) {
        free(copy);
        return CKR_ARGUMENTS_BAD;
    }
    *out = (char *)copy;
    return CKR_OK;
}
