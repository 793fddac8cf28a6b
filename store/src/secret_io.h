/* Reading whole secret files into secure memory (shared by secret.c and seal.c). */
#ifndef MT_STORE_SECRET_IO_H
#define MT_STORE_SECRET_IO_H

#include "internal.h"

/* Reads the regular file open on fd (named path in errors) into a new
 * mt_secret, refusing files over max bytes.  Nothing is stripped. */
mt_status mt_secret_read_fd(int fd, const char *path, size_t max, mt_secret **out);

#endif
