/* Secrets (PINs, P12 passwords) from a file, a variable, a descriptor or a
 * prompt without echo: never from the command line. */
#include "cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MT_PROMPT_MAX 1024
#define MT_SECRET_BAD_FD (-2)

/* Terminal state to put back if a signal ends the program during a prompt,
 * so that Ctrl-C never leaves the user's shell without echo. */
static struct termios prompt_saved;
static volatile sig_atomic_t prompt_tty = -1;

static void prompt_interrupted(int sig)
{
    if (prompt_tty >= 0)
        tcsetattr(prompt_tty, TCSAFLUSH, &prompt_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static void prompt_guard(int tty, struct sigaction old[N_PROMPT_SIGNALS])
{
    struct sigaction on_signal = {.sa_handler = prompt_interrupted};
    sigemptyset(&on_signal.sa_mask);
    prompt_tty = tty;
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &on_signal, &old[i]);
}

static void prompt_unguard(const struct sigaction old[N_PROMPT_SIGNALS])
{
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &old[i], NULL);
    prompt_tty = -1;
}

/* Reads one line from the terminal (with echo off unless asked) into secret memory. */
static mt_status prompt_once(int tty, const char *prompt, bool echo, mt_secret **out)
{
    struct termios quiet;
    struct sigaction old_actions[N_PROMPT_SIGNALS];
    mt_secret *line = NULL;
    bool restore = false;
    mt_status st = mt_secret_new(MT_PROMPT_MAX, &line);
    if (st != MT_OK)
        goto out;
    /* Echo off before the prompt shows: nothing typed after it is echoed. */
    if (!echo && tcgetattr(tty, &prompt_saved) == 0) {
        quiet = prompt_saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        prompt_guard(tty, old_actions);
        restore = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
        if (!restore)
            prompt_unguard(old_actions);
    }
    if (write(tty, prompt, strlen(prompt)) < 0) {
        st = mt_cli_set_error(MT_ERR_IO, "terminal: cannot write the prompt");
        goto out;
    }
    size_t len = 0;
    for (;;) {
        char c;
        ssize_t n = read(tty, &c, 1);
        if (n <= 0 || c == '\n' || c == '\r')
            break;
        if (len + 1 >= MT_PROMPT_MAX) {
            st = mt_cli_set_error(MT_ERR_TOO_LARGE, "terminal: input too long");
            goto out;
        }
        line->data[len++] = (uint8_t)c;
        c = 0;
    }
    line->data[len] = 0;
    st = mt_secret_from(line->data, len, out);
out:
    if (restore) {
        tcsetattr(tty, TCSAFLUSH, &prompt_saved);
        prompt_unguard(old_actions);
    }
    mt_secret_free(line);
    return st;
}

static int open_tty(const char *what)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0)
        mt_cli_set_error(MT_ERR_INVALID, "%s: no terminal to ask on", what);
    return tty;
}

mt_status mt_cli_ask(const char *what, const char *prompt, bool echo, mt_secret **out)
{
    int tty = open_tty(what);
    if (tty < 0)
        return MT_ERR_INVALID;
    mt_status st = prompt_once(tty, prompt, echo, out);
    close(tty);
    return st;
}

/* Asks for a secret; with confirm, checks it (policy) before asking again. */
static mt_status prompt_secret(const char *what, bool confirm, mt_cli_secret_check check,
                               void *ctx, mt_secret **out)
{
    mt_secret *first = NULL, *second = NULL;
    char prompt[300];
    mt_status st;
    int tty = open_tty(what);
    if (tty < 0) {
        st = MT_ERR_INVALID;
        goto out;
    }
    snprintf(prompt, sizeof(prompt), "%s: ", what);
    st = prompt_once(tty, prompt, false, &first);
    if (st == MT_OK && check)
        st = check(ctx, first);
    if (st != MT_OK || !confirm)
        goto out;
    snprintf(prompt, sizeof(prompt), "%s (again): ", what);
    st = prompt_once(tty, prompt, false, &second);
    if (st != MT_OK)
        goto out;
    if (first->len != second->len || memcmp(first->data, second->data, first->len) != 0)
        st = mt_cli_set_error(MT_ERR_INVALID, "%s: the two entries differ", what);
out:
    if (tty >= 0)
        close(tty);
    mt_secret_free(second);
    if (st == MT_OK) {
        *out = first;
    } else {
        mt_secret_free(first);
    }
    return st;
}

/* The secret from wherever it is given, checked; a prompt checks it before
 * asking for the confirmation. */
static mt_status read_checked(mt_cli *cli, const char *prompt, const char *file_path,
                              const char *env_name, int fd, bool confirm,
                              mt_cli_secret_check check, void *ctx, mt_secret **out)
{
    mt_status st;
    if (file_path)
        st = mt_secret_from_file(file_path, out);
    else if (env_name)
        st = mt_cli_env_secret(prompt, env_name, out);
    else if (fd >= 0)
        st = mt_secret_from_fd(fd, out);
    else if (!cli->is_tty)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: not given and no terminal to ask on",
                                prompt);
    else
        return prompt_secret(prompt, confirm, check, ctx, out);
    if (st == MT_OK && check && (st = check(ctx, *out)) != MT_OK) {
        mt_secret_free(*out);
        *out = NULL;
    }
    return st;
}

mt_status mt_cli_read_secret(mt_cli *cli, const char *prompt, const char *file_path,
                             const char *env_name, int fd, bool confirm, mt_secret **out)
{
    return read_checked(cli, prompt, file_path, env_name, fd, confirm, NULL, NULL, out);
}

bool mt_cli_secret_given(const mt_secret_source *src)
{
    return src->file || src->env || src->fd != -1 ||
           (src->default_env && mt_cli_env_has(src->default_env));
}

mt_status mt_cli_read_secret_from(mt_cli *cli, const mt_secret_source *src, bool confirm,
                                  mt_secret **out)
{
    return mt_cli_read_new_secret(cli, src, confirm, NULL, NULL, out);
}

mt_status mt_cli_read_new_secret(mt_cli *cli, const mt_secret_source *src, bool confirm,
                                 mt_cli_secret_check check, void *ctx, mt_secret **out)
{
    if (src->fd == MT_SECRET_BAD_FD)
        return mt_cli_set_error(MT_ERR_INVALID, "--%s-fd: not a file descriptor number",
                                src->option);
    const char *env = src->env;
    if (!env && !src->file && src->default_env && mt_cli_env_has(src->default_env))
        env = src->default_env;
    if (!src->file && !env && src->fd < 0 && !cli->is_tty)
        return mt_cli_set_error(MT_ERR_INVALID,
                                "%s: not given: use --%s-file, --%s-env or --%s-fd "
                                "(no terminal to ask on)",
                                src->what, src->option, src->option, src->option);
    return read_checked(cli, src->what, src->file, env, src->fd, confirm, check, ctx, out);
}

bool mt_cli_secret_source_ok(mt_cli *cli, const char *cmd, const mt_secret_source *src,
                             int *code)
{
    if (src->fd != MT_SECRET_BAD_FD)
        return true;
    *code = mt_cli_usage_error(cli, cmd, "--%s-fd: not a file descriptor number", src->option);
    return false;
}

bool mt_cli_secret_opt(mt_secret_source *src, int opt, int base, const char *arg)
{
    if (opt == base) {
        src->file = arg;
    } else if (opt == base + 1) {
        src->env = arg;
    } else if (opt == base + 2) {
        char *end = NULL;
        long fd = strtol(arg, &end, 10);
        src->fd = (*arg && !*end && fd >= 0 && fd < 65536) ? (int)fd : MT_SECRET_BAD_FD;
    } else {
        return false;
    }
    return true;
}
