/* The certificate files of a folder, recursively, in a stable order. */
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const cert_extensions[] = {".p12", ".pfx", ".pem", ".crt", ".cer", ".der"};

static bool looks_like_cert(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return false;
    for (size_t i = 0; i < sizeof(cert_extensions) / sizeof(cert_extensions[0]); i++) {
        if (strcasecmp(dot, cert_extensions[i]) == 0)
            return true;
    }
    return false;
}

mt_status mt_file_list_add(mt_file_list *list, const char *path)
{
    char *copy = strdup(path);
    char **grown = copy ? realloc(list->paths, (list->n + 1) * sizeof(*grown)) : NULL;
    if (!grown) {
        free(copy);
        return MT_ERR_NOMEM;
    }
    list->paths = grown;
    list->paths[list->n++] = copy;
    return MT_OK;
}

static mt_status walk(const char *dir, bool all_files, unsigned depth, mt_file_list *list)
{
    mt_status st = MT_OK;
    if (depth > 64)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: folders nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    while (st == MT_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
            st = MT_ERR_NOMEM;
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) {
            st = mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            st = walk(path, all_files, depth + 1, list);
        } else if (S_ISREG(sb.st_mode)) {
            if (all_files || looks_like_cert(de->d_name))
                st = mt_file_list_add(list, path);
            else
                list->skipped++;
        }
        free(path);
    }
    closedir(d);
    return st;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

mt_status mt_walk_folder(const char *folder, bool all_files, mt_file_list *list)
{
    size_t first = list->n;
    mt_status st = walk(folder, all_files, 0, list);
    if (st == MT_OK)
        qsort(list->paths + first, list->n - first, sizeof(char *), compare_paths);
    return st;
}

void mt_file_list_clear(mt_file_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->paths[i]);
    free(list->paths);
    memset(list, 0, sizeof(*list));
}
