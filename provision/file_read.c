/* Reading whole input files (certificates, password maps) with their names
 * in every error. */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mt_status mt_file_open(const char *path, int *fd, size_t *size)
{
    struct stat sb;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, &sb) != 0) {
        mt_status st = mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(*fd);
        *fd = -1;
        return mt_cli_set_error(MT_ERR_INVALID, "%s: not a regular file", path);
    }
    *size = (size_t)sb.st_size;
    return MT_OK;
}

mt_status mt_file_read(int fd, const char *path, uint8_t *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = read(fd, buf + *got, len - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return MT_OK;
}
