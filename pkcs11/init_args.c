/* C_Initialize's arguments: NSS passes its module parameters in pReserved,
 * p11-kit the x-init-reserved string, a careless client anything at all,
 * (void *)1 included, for pReserved or for the arguments themselves.  Both
 * are copied through process_vm_readv on this very process, a page at a
 * time: an address that cannot be read is EFAULT, not a crash.  The string
 * must end within 4 KiB.  Where the system call is not allowed (a seccomp
 * sandbox), the pointers are trusted as any other argument is. */
#include "init.h"

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

/* Copies up to `max` bytes, stopping after a NUL when `string`: the
 * number of bytes read, -1 when memory could not be read before the end
 * (or the NUL), -2 when the system call is not allowed. */
static ssize_t safe_read(const uint8_t *from, uint8_t *to, size_t max, bool string)
{
    size_t have = 0;
    while (have < max) {
        ssize_t n = read_chunk(from + have, to + have, max - have);
        if (n < 0)
            return n;
        if (n == 0)
            return -1;
        bool nul = string && memchr(to + have, '\0', (size_t)n);
        have += (size_t)n;
        if (nul)
            return (ssize_t)have;
    }
    return string ? -1 : (ssize_t)have;
}

CK_RV mt_init_args_copy(const void *args, CK_C_INITIALIZE_ARGS *out)
{
    ssize_t n = safe_read(args, (uint8_t *)out, sizeof(*out), false);
    if (n == -2) /* no way to ask: read as any other argument is */
        memcpy(out, args, sizeof(*out));
    return n == -1 ? CKR_ARGUMENTS_BAD : CKR_OK;
}

CK_RV mt_init_reserved_copy(const void *reserved, char **out)
{
    uint8_t *copy = NULL;
    *out = NULL;
    if (!reserved)
        return CKR_OK;
    if (!(copy = malloc(MAX_RESERVED)))
        return CKR_HOST_MEMORY;
    ssize_t n = safe_read(reserved, copy, MAX_RESERVED, true);
    if (n == -2) { /* no way to ask: read as any other argument is */
        size_t len = strnlen(reserved, MAX_RESERVED);
        n = len < MAX_RESERVED ? (ssize_t)len + 1 : -1;
        if (n > 0)
            memcpy(copy, reserved, (size_t)n);
    }
    if (n < 0) {
        free(copy);
        return CKR_ARGUMENTS_BAD;
    }
    *out = (char *)copy;
    return CKR_OK;
}
