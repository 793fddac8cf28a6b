/* The --passwords mapping file: CSV lines `file,password` (RFC 4180 quoting,
 * optional header line), decoded in place inside secret memory. */
#include "import.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mt_password_entry {
    const char *file;      /* inside buf */
    const char *password;  /* inside buf */
    size_t password_len;
} mt_password_entry;

struct mt_password_map {
    mt_secret *buf;
    mt_password_entry *entries;
    size_t n;
};

/* Decodes one field starting at *r into w (never ahead of *r); returns the
 * delimiter that ended it (',', '\n' or 0 at the end) or -1 on a bad quote. */
static int decode_field(char **r, char *end, char **w, size_t *len)
{
    char *start = *w;
    char *p = *r;
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end)
                return -1;
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    *(*w)++ = '"';
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            *(*w)++ = *p++;
        }
    } else {
        while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            *(*w)++ = *p++;
    }
    if (p < end && *p == '\r')
        p++;
    int delimiter = p < end ? *p : 0;
    if (delimiter && delimiter != ',' && delimiter != '\n')
        return -1;
    *len = (size_t)(*w - start);
    *(*w)++ = '\0';
    *r = p < end ? p + 1 : p;
    return delimiter;
}

static mt_status read_into_secret(const char *path, mt_secret **out)
{
    mt_secret *buf = NULL;
    size_t size = 0;
    int fd = -1;
    mt_status st = mt_file_open(path, &fd, &size);
    if (st != MT_OK)
        goto out;
    if (size > 64 * 1024 * 1024) {
        st = mt_cli_set_error(MT_ERR_TOO_LARGE, "%s: too large for a mapping file", path);
        goto out;
    }
    /* it holds passwords: refused like every file holding a secret */
    if ((st = mt_secret_file_check(fd, path)) != MT_OK)
        goto out;
    st = mt_secret_new(size + 2, &buf); /* room for the last field's NUL */
    if (st == MT_OK)
        st = mt_file_read(fd, path, buf->data, size, &buf->len);
    if (st == MT_OK) {
        *out = buf;
        buf = NULL;
    }
out:
    mt_secret_free(buf);
    if (fd >= 0)
        close(fd);
    return st;
}

static mt_status parse_lines(const char *path, mt_password_map *map)
{
    char *r = (char *)map->buf->data, *w = r;
    char *end = r + map->buf->len;
    size_t cap = 0, line = 0;
    while (r < end) {
        line++;
        if (*r == '\n' || *r == '\r') { /* blank line */
            r++;
            continue;
        }
        char *file = w, *password;
        size_t file_len, password_len;
        int d = decode_field(&r, end, &w, &file_len);
        if (d != ',')
            return mt_cli_set_error(MT_ERR_INVALID, "%s:%zu: expected `file,password`", path,
                                    line);
        password = w;
        d = decode_field(&r, end, &w, &password_len);
        if (d < 0 || d == ',')
            return mt_cli_set_error(MT_ERR_INVALID, "%s:%zu: expected `file,password`", path,
                                    line);
        if (line == 1 && strcmp(file, "file") == 0 && strcmp(password, "password") == 0)
            continue; /* header */
        if (map->n == cap) {
            cap = cap ? cap * 2 : 64;
            mt_password_entry *grown = realloc(map->entries, cap * sizeof(*grown));
            if (!grown)
                return MT_ERR_NOMEM;
            map->entries = grown;
        }
        map->entries[map->n++] = (mt_password_entry){file, password, password_len};
    }
    return MT_OK;
}

mt_status mt_password_map_load(const char *path, mt_password_map **out)
{
    mt_password_map *map = calloc(1, sizeof(*map));
    mt_status st = map ? read_into_secret(path, &map->buf) : MT_ERR_NOMEM;
    if (st == MT_OK)
        st = parse_lines(path, map);
    if (st == MT_OK) {
        *out = map;
        map = NULL;
    }
    mt_password_map_free(map);
    return st;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool mt_password_map_find(const mt_password_map *map, const char *relative_path,
                          const char **password, size_t *password_len)
{
    const mt_password_entry *by_name = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const mt_password_entry *e = &map->entries[i];
        if (strcmp(e->file, relative_path) == 0) {
            by_name = e;
            break;
        }
        if (!by_name && strcmp(e->file, base_name(relative_path)) == 0)
            by_name = e;
    }
    if (!by_name)
        return false;
    *password = by_name->password;
    *password_len = by_name->password_len;
    return true;
}

void mt_password_map_free(mt_password_map *map)
{
    if (!map)
        return;
    mt_secret_free(map->buf);
    free(map->entries);
    free(map);
}
