/* Reading a CA credentials file without leaving the password on the heap. */
#include "renew/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MT_CREDS_MAX 8192

static mt_status check_fd(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mt_cli_set_error(MT_ERR_INVALID, "%s: not a regular file", path);
    if (st.st_mode & 077)
        return mt_cli_set_error(MT_ERR_INVALID,
                                "%s: credentials file must be mode 0600 (it is %04o); "
                                "run chmod 600 on it",
                                path, (unsigned)(st.st_mode & 0777));
    if (st.st_size > MT_CREDS_MAX)
        return mt_cli_set_error(MT_ERR_TOO_LARGE, "%s: larger than %d bytes", path,
                                MT_CREDS_MAX);
    return MT_OK;
}

mt_status mt_ca_creds_check_mode(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    mt_status st = check_fd(fd, path);
    close(fd);
    return st;
}

/* Parses `key = value` lines in place (the buffer is sodium memory). */
static mt_status parse(char *text, const char *path, mt_ca_creds *creds)
{
    unsigned line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *l = mt_text_trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq)
            return mt_cli_set_error(MT_ERR_INVALID, "%s:%u: expected key = value", path,
                                    line_no);
        *eq = '\0';
        char *key = mt_text_trim(l), *value = mt_text_trim(eq + 1);
        mt_status st = MT_OK;
        if (strcmp(key, "login") == 0) {
            free(creds->login);
            creds->login = strdup(value);
        } else if (strcmp(key, "context") == 0) {
            free(creds->context);
            creds->context = strdup(value);
        } else if (strcmp(key, "password") == 0) {
            mt_secret_free(creds->password);
            creds->password = NULL;
            st = mt_secret_from(value, strlen(value), &creds->password);
        } else {
            return mt_cli_set_error(MT_ERR_INVALID, "%s:%u: unknown key '%s'", path, line_no,
                                    key);
        }
        if (st != MT_OK)
            return st;
    }
    if (!creds->login || !*creds->login)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: 'login' is missing", path);
    if (!creds->password || creds->password->len == 0)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: 'password' is missing", path);
    return MT_OK;
}

mt_status mt_ca_creds_load(const char *path, mt_ca_creds **out)
{
    mt_status st;
    mt_secret *raw = NULL;
    mt_ca_creds *creds = calloc(1, sizeof *creds);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    *out = NULL;
    if (!creds) {
        st = MT_ERR_NOMEM;
        goto out;
    }
    if (fd < 0) {
        st = mt_cli_set_error(errno == ENOENT ? MT_ERR_NOT_FOUND : MT_ERR_IO, "%s: %s", path,
                              strerror(errno));
        goto out;
    }
    if ((st = check_fd(fd, path)) != MT_OK || (st = mt_secret_new(MT_CREDS_MAX, &raw)) != MT_OK)
        goto out;
    size_t len = 0;
    ssize_t n;
    while (len < MT_CREDS_MAX && (n = read(fd, raw->data + len, MT_CREDS_MAX - len)) > 0)
        len += (size_t)n;
    raw->data[len] = '\0';
    if ((st = parse((char *)raw->data, path, creds)) != MT_OK)
        goto out;
    *out = creds;
    creds = NULL;
out:
    if (fd >= 0)
        close(fd);
    mt_secret_free(raw);
    mt_ca_creds_free(creds);
    return st;
}

void mt_ca_creds_free(mt_ca_creds *creds)
{
    if (!creds)
        return;
    free(creds->login);
    free(creds->context);
    mt_secret_free(creds->password);
    free(creds);
}
