/* --map CSV: which account an object of the source token belongs to. */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

void mt_mig_map_free(mt_mig_map *map)
{
    for (size_t i = 0; i < map->n; i++) {
        free(map->objects[i]);
        free(map->emails[i]);
    }
    free(map->objects);
    free(map->emails);
    memset(map, 0, sizeof(*map));
}

/* A field without the space around it nor simple quotes. */
static char *field_trim(char *s)
{
    s = mt_text_trim(s);
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') { /* simple quoted field */
        s[len - 1] = '\0';
        s++;
    }
    return s;
}

static mt_status add_entry(mt_mig_map *map, const char *object, const char *email)
{
    char **objects = realloc(map->objects, (map->n + 1) * sizeof(char *));
    if (objects)
        map->objects = objects;
    char **emails = realloc(map->emails, (map->n + 1) * sizeof(char *));
    if (emails)
        map->emails = emails;
    if (!objects || !emails)
        return MT_ERR_NOMEM;
    map->objects[map->n] = strdup(object);
    map->emails[map->n] = strdup(email);
    map->n++;
    return map->objects[map->n - 1] && map->emails[map->n - 1] ? MT_OK : MT_ERR_NOMEM;
}

mt_status mt_mig_map_load(const char *path, mt_mig_map *map)
{
    memset(map, 0, sizeof(*map));
    FILE *fp = fopen(path, "r");
    if (!fp)
        return mt_cli_set_error(MT_ERR_IO, "--map: %s: %s", path, strerror(errno));
    char line[2048];
    unsigned lineno = 0;
    mt_status st = MT_OK;
    while (st == MT_OK && fgets(line, sizeof(line), fp)) {
        lineno++;
        char *text = field_trim(line);
        if (!*text || *text == '#')
            continue;
        char *comma = strrchr(text, ',');
        if (!comma) {
            st = mt_cli_set_error(MT_ERR_INVALID, "%s:%u: expected OBJECT,EMAIL", path, lineno);
            break;
        }
        *comma = '\0';
        char *object = field_trim(text), *email = field_trim(comma + 1);
        if (lineno == 1 && !strcasecmp(object, "object") && !strcasecmp(email, "email"))
            continue;
        if (!*object || !strchr(email, '@')) {
            st = mt_cli_set_error(MT_ERR_INVALID, "%s:%u: expected OBJECT,EMAIL with an email "
                                                  "address", path, lineno);
            break;
        }
        st = add_entry(map, object, email);
    }
    if (st == MT_OK && ferror(fp)) /* a directory opens, then fails to read */
        st = mt_cli_set_error(MT_ERR_IO, "--map: %s: cannot read it: %s", path, strerror(errno));
    fclose(fp);
    if (st != MT_OK)
        mt_mig_map_free(map);
    return st;
}

const char *mt_mig_map_lookup(const mt_mig_map *map, const mt_mig_item *item)
{
    char fp[65];
    mt_fingerprint_hex(item->cert->sha256, fp);
    for (size_t i = 0; i < map->n; i++) {
        const char *o = map->objects[i];
        if ((!strncasecmp(o, "sha256:", 7) && !strcasecmp(o + 7, fp)) ||
            (!strncasecmp(o, "id:", 3) && item->id_hex[0] && !strcasecmp(o + 3, item->id_hex)) ||
            (item->cert_label && !strcmp(o, item->cert_label)) ||
            (item->key_label && !strcmp(o, item->key_label)))
            return map->emails[i];
    }
    return NULL;
}
