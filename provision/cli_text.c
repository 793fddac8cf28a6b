/* Text shown and text taken.
 *
 * What the tool prints never drives the terminal: names, subjects, paths and
 * CA messages come from files and servers, and a friendly name holding
 * "\033]0;..." must show as text.  stdout and stderr pass through a filter
 * that writes control characters (C0 but newline and tab, DEL, C1) as \xNN
 * or \u00NN and bytes that are not UTF-8 as \xNN; everything else, UTF-8
 * names included, passes unchanged.  JSON stays valid (jansson escapes C0
 * itself, and \u00NN is JSON's own escape of a C1 character). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct escape_sink {
    int fd;
    unsigned char pending[4]; /* an incomplete UTF-8 sequence from the last write */
    size_t n_pending;
} escape_sink;

static escape_sink sinks[2] = {{.fd = STDOUT_FILENO}, {.fd = STDERR_FILENO}};

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Length of the UTF-8 sequence starting with byte c (0: not a lead byte). */
static size_t sequence_length(unsigned char c)
{
    return c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
           : c >= 0xF0 && c <= 0xF4                ? 4
                                                   : 0;
}

/* Whether s[0..n) is a well-formed sequence (no overlong form, no surrogate). */
static bool sequence_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return false;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return false;
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return false;
    return true;
}

/* Appends the visible form of s[0..n) (one character or one stray byte). */
static size_t render(const unsigned char *s, size_t n, bool valid, char *out)
{
    if (!valid)
        return (size_t)sprintf(out, "\\x%02x", s[0]);
    if (n == 1 && ((s[0] < 0x20 && s[0] != '\n' && s[0] != '\t') || s[0] == 0x7F))
        return (size_t)sprintf(out, "\\x%02x", s[0]);
    if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0) /* U+0080..U+009F: C1 controls */
        return (size_t)sprintf(out, "\\u%04x", s[1]);
    memcpy(out, s, n);
    return n;
}

static ssize_t escape_write(void *cookie, const char *data, size_t len)
{
    escape_sink *sink = cookie;
    char out[4096 + 16];
    size_t used = 0, i = 0;
    unsigned char seq[4];
    while (i < len || sink->n_pending) {
        size_t have = sink->n_pending;
        memcpy(seq, sink->pending, have);
        size_t need = sequence_length(have ? seq[0] : (unsigned char)data[i]);
        if (!have)
            seq[have++] = (unsigned char)data[i++];
        while (need > 1 && have < need && i < len && ((unsigned char)data[i] & 0xC0) == 0x80)
            seq[have++] = (unsigned char)data[i++];
        sink->n_pending = 0;
        if (need > 1 && have < need && i == len && (have < 2 || (seq[have - 1] & 0xC0) == 0x80)) {
            memcpy(sink->pending, seq, have); /* the rest comes with the next write */
            sink->n_pending = have;
            break;
        }
        bool valid = need > 0 && have == need && sequence_ok(seq, have);
        size_t taken = valid ? have : 1;
        used += render(seq, taken, valid, out + used);
        if (!valid && have > 1) { /* the bytes after a stray one are looked at again */
            memcpy(sink->pending, seq + 1, have - 1);
            sink->n_pending = have - 1;
        }
        if (used > 4096 && write_all(sink->fd, out, used) != 0)
            return -1;
        if (used > 4096)
            used = 0;
    }
    if (used && write_all(sink->fd, out, used) != 0)
        return -1;
    return (ssize_t)len;
}

static int escape_close(void *cookie)
{
    escape_sink *sink = cookie;
    char out[16];
    for (size_t k = 0; k < sink->n_pending; k++)
        if (write_all(sink->fd, out, render(&sink->pending[k], 1, false, out)) != 0)
            return -1;
    sink->n_pending = 0;
    return 0;
}

const char *mt_cli_visible(const char *text, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), used = 0;
    char one[8];
    for (size_t i = 0; i < len;) {
        size_t need = sequence_length(s[i]);
        bool valid = need > 0 && i + need <= len && sequence_ok(s + i, need);
        size_t n = render(s + i, valid ? need : 1, valid, one);
        if (used + n + 1 > size)
            break; /* cut at a character: what fits */
        memcpy(out + used, one, n);
        used += n;
        i += valid ? need : 1;
    }
    if (size)
        out[used] = '\0';
    return out;
}

/* The first stray byte of text (and, with controls, the first control
 * character, newline and tab included), NULL when clean. */
static const unsigned char *first_unclean(const char *text, bool controls, bool *not_utf8)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    char one[8];
    for (size_t i = 0; i < len;) {
        size_t need = sequence_length(s[i]);
        *not_utf8 = !(need > 0 && i + need <= len && sequence_ok(s + i, need));
        if (*not_utf8 || (controls && (render(s + i, need, true, one) != need ||
                                       s[i] == '\t' || s[i] == '\n')))
            return s + i;
        i += need;
    }
    return NULL;
}

static bool text_check(mt_cli *cli, const char *option, const char *value, bool controls, int *code)
{
    bool not_utf8 = false;
    const unsigned char *bad = first_unclean(value, controls, &not_utf8);
    if (!bad)
        return true;
    char shown[16];
    size_t n = render(bad, not_utf8 ? 1 : sequence_length(*bad), !not_utf8, shown);
    if (*bad == '\n' || *bad == '\t')
        n = (size_t)sprintf(shown, "\\x%02x", *bad);
    shown[n] = '\0';
    *code = mt_cli_fail(cli, mt_cli_set_error(MT_ERR_INVALID, not_utf8 ? "%s: not valid UTF-8 (byte %s)"
                                              : "%s: control characters are not allowed (%s)",
                                              option, shown), NULL);
    return false;
}

bool mt_cli_text_ok(mt_cli *cli, const char *option, const char *value, int *code)
{
    return text_check(cli, option, value, false, code);
}

bool mt_cli_name_ok(mt_cli *cli, const char *option, const char *value, int *code)
{
    return text_check(cli, option, value, true, code);
}

static FILE *raw_stderr;

void mt_cli_escape_output(void)
{
    cookie_io_functions_t io = {.write = escape_write, .close = escape_close};
    FILE *out = fopencookie(&sinks[0], "w", io);
    FILE *err = fopencookie(&sinks[1], "w", io);
    if (!out || !err) {
        if (out)
            fclose(out);
        if (err)
            fclose(err);
        return; /* plain output rather than none */
    }
    fflush(stdout);
    fflush(stderr);
    raw_stderr = stderr;
    setvbuf(err, NULL, _IONBF, 0); /* stderr stays unbuffered, in order with raw writes */
    if (isatty(STDOUT_FILENO))
        setvbuf(out, NULL, _IOLBF, 0); /* as a terminal's stdout always was */
    stdout = out;
    stderr = err;
}

FILE *mt_cli_terminal_err(void)
{
    return raw_stderr ? raw_stderr : stderr;
}
