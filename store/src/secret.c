/* Secrets in sodium_malloc memory (guarded, locked, wiped on free). */
#include "secret_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A PIN, password or key file is small; anything larger is a mistake. */
#define MT_SECRET_MAX_FILE (64u * 1024u)
#define MT_SECRET_MAX_LINE 4096u

mt_status mt_secret_new(size_t len, mt_secret **out)
{
    mt_status st = mt_library_init();
    if (st != MT_OK)
        return st;
    if (!out)
        return mt_fail(MT_ERR_INVALID, "mt_secret_new: out is NULL");
    *out = NULL;
    if (len > SIZE_MAX - 1)
        return mt_fail(MT_ERR_TOO_LARGE, "secret too large");
    mt_secret *secret = calloc(1, sizeof(*secret));
    if (!secret)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    /* +1 keeps a NUL after the data so that a PIN can be used as a C string. */
    secret->data = sodium_malloc(len + 1);
    if (!secret->data) {
        free(secret);
        return mt_fail(MT_ERR_NOMEM, "out of secure memory (%zu bytes)", len + 1);
    }
    sodium_memzero(secret->data, len + 1);
    secret->len = len;
    *out = secret;
    return MT_OK;
}

mt_status mt_secret_from(const void *data, size_t len, mt_secret **out)
{
    if (!data && len > 0)
        return mt_fail(MT_ERR_INVALID, "mt_secret_from: data is NULL");
    mt_status st = mt_secret_new(len, out);
    if (st == MT_OK && len > 0)
        memcpy((*out)->data, data, len);
    return st;
}

void mt_secret_free(mt_secret *secret)
{
    if (!secret)
        return;
    sodium_free(secret->data); /* wipes before freeing */
    free(secret);
}

/* Drops one trailing "\n" or "\r\n" (what an editor or `echo` leaves). */
static void strip_newline(mt_secret *secret)
{
    if (secret->len > 0 && secret->data[secret->len - 1] == '\n')
        secret->data[--secret->len] = '\0';
    if (secret->len > 0 && secret->data[secret->len - 1] == '\r')
        secret->data[--secret->len] = '\0';
}

mt_status mt_read_full(int fd, const char *path, void *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = read(fd, (uint8_t *)buf + *got, len - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return MT_OK;
}

mt_status mt_secret_read_fd(int fd, const char *path, size_t max, mt_secret **out)
{
    mt_status st = MT_OK;
    mt_secret *secret = NULL;
    struct stat sb;

    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mt_fail(MT_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if ((uintmax_t)sb.st_size > max) {
        st = mt_fail(MT_ERR_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    st = mt_secret_new((size_t)sb.st_size, &secret);
    if (st != MT_OK)
        goto out;
    size_t got = 0;
    st = mt_read_full(fd, path, secret->data, secret->len, &got);
    if (st != MT_OK)
        goto out;
    secret->len = got; /* the file may have shrunk while reading */
    secret->data[got] = '\0';
    *out = secret;
    secret = NULL;
out:
    mt_secret_free(secret);
    return st;
}

/* A pipe (`--password-file <(pass show x)`, /dev/stdin): read to its end,
 * up to max bytes, into secure memory. */
static mt_status read_pipe(int fd, const char *path, size_t max, mt_secret **out)
{
    mt_secret *secret = NULL;
    size_t got = 0, more = 0;
    uint8_t extra = 0;
    mt_status st = mt_secret_new(max, &secret);
    if (st == MT_OK)
        st = mt_read_full(fd, path, secret->data, max, &got);
    if (st == MT_OK && got == max && (st = mt_read_full(fd, path, &extra, 1, &more)) == MT_OK && more)
        st = mt_fail(MT_ERR_TOO_LARGE, "%s: larger than %zu bytes", path, max);
    sodium_memzero(&extra, sizeof(extra));
    if (st == MT_OK) {
        secret->len = got;
        secret->data[got] = '\0';
        *out = secret;
        secret = NULL;
    }
    mt_secret_free(secret);
    return st;
}

mt_status mt_secret_file_check(int fd, const char *path)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISREG(sb.st_mode) && (sb.st_mode & (S_IRWXG | S_IRWXO)))
        return mt_fail(MT_ERR_INVALID, "%s: must not be accessible by group or others (mode %04o); "
                       "chmod 600 it", path, (unsigned)(sb.st_mode & 07777));
    return MT_OK;
}

/* Reads the whole file straight into secure memory (no stdio buffer copy). */
mt_status mt_secret_from_file(const char *path, mt_secret **out)
{
    mt_status st = MT_OK;
    int fd = -1;
    struct stat sb;

    if (!path || !out)
        return mt_fail(MT_ERR_INVALID, "mt_secret_from_file: path and out are required");
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((st = mt_secret_file_check(fd, path)) != MT_OK)
        goto out;
    if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
        st = read_pipe(fd, path, MT_SECRET_MAX_FILE, out);
    else
        st = mt_secret_read_fd(fd, path, MT_SECRET_MAX_FILE, out);
    if (st == MT_OK)
        strip_newline(*out);
out:
    if (fd >= 0)
        close(fd);
    return st;
}

/* Reads byte by byte so that nothing past the line is consumed from fd. */
mt_status mt_secret_from_fd(int fd, mt_secret **out)
{
    mt_status st = MT_OK;
    mt_secret *secret = NULL;

    if (fd < 0 || !out)
        return mt_fail(MT_ERR_INVALID, "mt_secret_from_fd: a file descriptor and out are required");
    *out = NULL;
    st = mt_secret_new(MT_SECRET_MAX_LINE, &secret);
    if (st != MT_OK)
        goto out;
    size_t got = 0;
    for (;;) {
        uint8_t c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = mt_fail(MT_ERR_IO, "reading secret from fd %d: %s", fd, strerror(errno));
            goto out;
        }
        if (n == 0 || c == '\n')
            break;
        if (got == MT_SECRET_MAX_LINE) {
            st = mt_fail(MT_ERR_TOO_LARGE, "secret on fd %d longer than %u bytes", fd,
                         MT_SECRET_MAX_LINE);
            goto out;
        }
        secret->data[got++] = c;
    }
    secret->len = got;
    secret->data[got] = '\0';
    strip_newline(secret);
    *out = secret;
    secret = NULL;
out:
    mt_secret_free(secret);
    return st;
}

mt_status mt_secret_write_hex_file(const char *path, const mt_secret *secret)
{
    mt_secret *hex = NULL;
    mt_status st = mt_secret_new(secret->len * 2 + 1, &hex);
    if (st != MT_OK)
        return st;
    sodium_bin2hex((char *)hex->data, hex->len + 1, secret->data, secret->len);
    hex->data[secret->len * 2] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        st = mt_fail(errno == EEXIST ? MT_ERR_CONFLICT : MT_ERR_IO, "%s: cannot create: %s", path,
                     strerror(errno));
    else if (write(fd, hex->data, hex->len) != (ssize_t)hex->len || fsync(fd) != 0)
        st = mt_fail(MT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && st == MT_OK)
        st = mt_fail(MT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (fd >= 0 && st != MT_OK)
        unlink(path);
    mt_secret_free(hex);
    return st;
}
