/* mt_secret: secure buffers, from memory, files and file descriptors. */
#include "mailtoken/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/mt-secret-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    return system(command) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    chmod(path, 0600);
    return path;
}

static void test_new_and_from(void **state)
{
    (void)state;
    mt_secret *s = NULL;
    assert_int_equal(mt_secret_new(16, &s), MT_OK);
    assert_int_equal(s->len, 16);
    for (size_t i = 0; i <= 16; i++)
        assert_int_equal(s->data[i], 0); /* zeroed, NUL-terminated */
    mt_secret_free(s);
    assert_int_equal(mt_secret_from("1234", 4, &s), MT_OK);
    assert_int_equal(s->len, 4);
    assert_string_equal((const char *)s->data, "1234");
    mt_secret_free(s);
    assert_int_equal(mt_secret_from("", 0, &s), MT_OK);
    assert_int_equal(s->len, 0);
    assert_string_equal((const char *)s->data, "");
    mt_secret_free(s);
    assert_int_equal(mt_secret_from(NULL, 3, &s), MT_ERR_INVALID);
    assert_int_equal(mt_secret_new(1, NULL), MT_ERR_INVALID);
    mt_secret_free(NULL);
}

static void test_from_file(void **state)
{
    (void)state;
    mt_secret *s = NULL;
    assert_int_equal(mt_secret_from_file(write_file("a", "p4ss word\n", 10), &s), MT_OK);
    assert_int_equal(s->len, 9);
    assert_string_equal((const char *)s->data, "p4ss word");
    mt_secret_free(s);
    assert_int_equal(mt_secret_from_file(write_file("b", "crlf\r\n", 6), &s), MT_OK);
    assert_string_equal((const char *)s->data, "crlf");
    mt_secret_free(s);
    /* only one newline is taken off; inner bytes are kept */
    assert_int_equal(mt_secret_from_file(write_file("c", "a\0b\n\n", 5), &s), MT_OK);
    assert_int_equal(s->len, 4);
    assert_memory_equal(s->data, "a\0b\n", 4);
    mt_secret_free(s);
    assert_int_equal(mt_secret_from_file(write_file("d", "", 0), &s), MT_OK);
    assert_int_equal(s->len, 0);
    mt_secret_free(s);

    char *big = calloc(1, 70000);
    assert_non_null(big);
    const char *path = write_file("big", big, 70000);
    free(big);
    assert_int_equal(mt_secret_from_file(path, &s), MT_ERR_TOO_LARGE);
    assert_non_null(strstr(mt_errmsg(), path));
    assert_null(s);

    char missing[300];
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    assert_int_equal(mt_secret_from_file(missing, &s), MT_ERR_IO);
    assert_non_null(strstr(mt_errmsg(), missing));
    assert_int_equal(mt_secret_from_file(dir, &s), MT_ERR_IO);
}

static void test_from_fd(void **state)
{
    (void)state;
    int fds[2];
    mt_secret *s = NULL;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "first pin\nsecond\r\nlast", 22), 22);
    close(fds[1]);
    assert_int_equal(mt_secret_from_fd(fds[0], &s), MT_OK);
    assert_string_equal((const char *)s->data, "first pin");
    mt_secret_free(s);
    /* one line at a time: the rest stays readable */
    assert_int_equal(mt_secret_from_fd(fds[0], &s), MT_OK);
    assert_string_equal((const char *)s->data, "second");
    mt_secret_free(s);
    assert_int_equal(mt_secret_from_fd(fds[0], &s), MT_OK);
    assert_string_equal((const char *)s->data, "last");
    assert_int_equal(s->len, 4);
    mt_secret_free(s);
    close(fds[0]);
    assert_int_equal(mt_secret_from_fd(-1, &s), MT_ERR_INVALID);
    assert_int_equal(mt_secret_from_fd(fds[0], &s), MT_ERR_IO); /* closed */
}

static void test_library_init(void **state)
{
    (void)state;
    assert_int_equal(mt_library_init(), MT_OK);
    assert_int_equal(mt_library_init(), MT_OK); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_from),
        cmocka_unit_test(test_from_file),
        cmocka_unit_test(test_from_fd),
        cmocka_unit_test(test_library_init),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
