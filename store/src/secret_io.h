/* Reading whole files, secrets into secure memory (secret.c, seal.c, cert_parse.c). */
#ifndef MT_STORE_SECRET_IO_H
#define MT_STORE_SECRET_IO_H

#include "internal.h"

/* Reads up to len bytes from fd into buf, retrying on EINTR and short reads;
 * stops early at end of file.  *got = bytes read.  MT_ERR_IO names path. */
mt_status mt_read_full(int fd, const char *path, void *buf, size_t len, size_t *got);

/* Reads the regular file open on fd (named path in errors) into a new
 * mt_secret, refusing files over max bytes.  Nothing is stripped. */
mt_status mt_secret_read_fd(int fd, const char *path, size_t max, mt_secret **out);

/* Writes the secret as lower-case hex and a newline to a new file created
 * 0600 (an existing file is refused), with one write() from secure memory
 * and fsync; a file left half-written is removed. */
mt_status mt_secret_write_hex_file(const char *path, const mt_secret *secret);

#endif
