/* Helpers to read the generated test data. */
#include "testdata.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

const char *td_path(const char *rel)
{
    /* A few rotating buffers, so that one call may use several paths. */
    static char paths[8][4096];
    static unsigned next;
    char *path = paths[next++ % 8];
    const char *root = getenv("MT_TESTDATA");
    assert_non_null(root);
    snprintf(path, sizeof(paths[0]), "%s/%s", root, rel);
    return path;
}

static void copy_path(char *dst, size_t size, const char *rel)
{
    if (strcmp(rel, "-") == 0)
        dst[0] = '\0';
    else
        snprintf(dst, size, "%s", td_path(rel));
}

size_t td_users(td_user *users, size_t max)
{
    FILE *f = fopen(td_path("manifest.tsv"), "r");
    char line[1024];
    size_t n = 0;
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f)); /* header */
    assert_string_equal(line, "name\temail\tkey\tp12\tpassword\tcrt\tkeypem\tchain\tnotes\n");
    while (n < max && fgets(line, sizeof(line), f)) {
        char *fields[9] = {0};
        char *save = NULL, *p = line;
        for (int i = 0; i < 9; i++, p = NULL)
            fields[i] = strtok_r(p, "\t\n", &save);
        assert_non_null(fields[8]);
        td_user *u = &users[n++];
        snprintf(u->name, sizeof(u->name), "%s", fields[0]);
        snprintf(u->email, sizeof(u->email), "%s", fields[1]);
        snprintf(u->key, sizeof(u->key), "%s", fields[2]);
        copy_path(u->p12, sizeof(u->p12), fields[3]);
        copy_path(u->password, sizeof(u->password), fields[4]);
        copy_path(u->crt, sizeof(u->crt), fields[5]);
        copy_path(u->chain, sizeof(u->chain), fields[7]);
    }
    fclose(f);
    assert_true(n >= 14);
    return n;
}

const td_user *td_user_named(const td_user *users, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(users[i].name, name) == 0)
            return &users[i];
    fail_msg("no user %s in the manifest", name);
    return NULL;
}

mt_secret *td_password(const char *pass_path)
{
    mt_secret *secret = NULL;
    if (!pass_path || !pass_path[0] || access(pass_path, F_OK) != 0)
        return NULL;
    assert_int_equal(mt_secret_from_file(pass_path, &secret), MT_OK);
    return secret;
}

mt_status td_parse(const char *path, const char *pass_path, mt_parsed **out)
{
    mt_secret *password = td_password(pass_path);
    mt_status st = mt_cert_parse_file(path, password, out);
    mt_secret_free(password);
    return st;
}

void td_command_line(const char *command, char *out, size_t size)
{
    FILE *p = popen(command, "r");
    assert_non_null(p);
    if (!fgets(out, (int)size, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(pclose(p), 0);
}
