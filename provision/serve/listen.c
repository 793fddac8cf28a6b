/* Listening sockets: ADDRESS:PORT (IPv4, [IPv6], port 0 for any free one),
 * unix:PATH for a reverse proxy, or the ones systemd passed. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* "https://127.0.0.1:8443" from the bound socket (the port chosen for 0). */
static void describe(int fd, bool plain, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    const char *scheme = plain ? "http" : "https";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(out, len, "%s://?", scheme);
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(out, len, "%s+unix:%s", scheme, ((struct sockaddr_un *)&ss)->sun_path);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(out, len, "%s://[%s]:%u", scheme, host, ntohs(a->sin6_port));
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, len, "%s://%s:%u", scheme, host, ntohs(a->sin_port));
    }
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

static mt_status bind_unix(const char *what, const char *path, int *out)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct stat sb;
    if (strlen(path) >= sizeof(sun.sun_path))
        return mt_cli_set_error(MT_ERR_INVALID, "%s: unix:%s: path too long", what, path);
    strcpy(sun.sun_path, path);
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode))
            return mt_cli_set_error(MT_ERR_CONFLICT, "%s: %s exists and is not a socket", what,
                                    path);
        unlink(path); /* left by an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0117); /* 0660: the proxy's group may connect */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0 || listen(fd, 128) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return mt_cli_set_error(MT_ERR_IO, "%s: unix:%s: %s", what, path, strerror(e));
    }
    *out = fd;
    return MT_OK;
}

/* HOST:PORT or [HOST]:PORT into its parts (host "" for every address). */
static bool split_host_port(const char *spec, char *host, size_t host_len, char *port,
                            size_t port_len)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':')
            return false;
        snprintf(host, host_len, "%.*s", (int)(end - spec - 1), spec + 1);
        colon = end + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || memchr(spec, ':', (size_t)(colon - spec)))
            return false;
        snprintf(host, host_len, "%.*s", (int)(colon - spec), spec);
    }
    snprintf(port, port_len, "%s", colon + 1);
    size_t n = strlen(port);
    return n > 0 && n <= 5 && strspn(port, "0123456789") == n && atoi(port) <= 65535;
}

static mt_status bind_inet(const char *what, const char *spec, bool plain, int *out)
{
    char host[256], port[8];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res = NULL;
    if (!split_host_port(spec, host, sizeof(host), port, sizeof(port)))
        return mt_cli_set_error(MT_ERR_INVALID,
                                "%s: '%s' is not ADDRESS:PORT, [IPv6]:PORT or unix:PATH", what,
                                spec);
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: '%s': %s", what, spec, gai_strerror(gai));
    mt_status st = MT_OK;
    int fd = -1, one = 1, zero = 0;
    if (plain && !is_loopback(res->ai_addr)) {
        st = mt_cli_set_error(MT_ERR_INVALID,
                              "%s: '%s': plain HTTP listens only on a Unix socket or a loopback "
                              "address (for a reverse proxy)",
                              what, spec);
        goto out;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6) /* [::] takes IPv4 too */
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        st = mt_cli_set_error(MT_ERR_IO, "%s: '%s': %s", what, spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    *out = fd;
out:
    freeaddrinfo(res);
    return st;
}

mt_status mt_api_listen(const char *spec, bool plain, mt_api_listener *out)
{
    const char *what = plain ? "api_plain_listen" : "api_listen";
    mt_status st;
    out->fd = -1;
    out->plain = plain;
    if (strncmp(spec, "unix:", 5) == 0) {
        if (!plain)
            return mt_cli_set_error(MT_ERR_INVALID,
                                    "%s: a Unix socket is for api_plain_listen (a reverse proxy)",
                                    what);
        st = bind_unix(what, spec + 5, &out->fd);
    } else {
        st = bind_inet(what, spec, plain, &out->fd);
    }
    if (st == MT_OK)
        describe(out->fd, plain, out->name, sizeof(out->name));
    return st;
}

mt_status mt_api_listen_activated(mt_api_listener *out, size_t max, size_t *n)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    *n = 0;
    if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
        return MT_OK;
    long count = strtol(fds, NULL, 10);
    if (count < 1 || (size_t)count > max)
        return mt_cli_set_error(MT_ERR_INVALID, "LISTEN_FDS=%s: expected 1 or %zu sockets", fds,
                                max);
    for (long i = 0; i < count; i++) {
        int fd = 3 + (int)i; /* SD_LISTEN_FDS_START */
        size_t name_len = names ? strcspn(names, ":") : 0;
        bool plain = name_len == 5 && strncmp(names, "plain", 5) == 0;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        out[*n].fd = fd;
        out[*n].plain = plain;
        describe(fd, plain, out[*n].name, sizeof(out[*n].name));
        (*n)++;
        if (names)
            names = names[name_len] ? names + name_len + 1 : NULL;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return MT_OK;
}

void mt_api_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (!path || !*path || strlen(path) >= sizeof(sun.sun_path))
        return;
    memcpy(sun.sun_path, path, strlen(path));
    if (path[0] == '@')
        sun.sun_path[0] = '\0'; /* an abstract socket */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
    close(fd);
}
