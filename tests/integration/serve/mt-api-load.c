/*
 * mt-api-load: many clients of `mailtoken serve` at once, each with its own
 * keep-alive HTTPS connection (libcurl), uploading P12 files and reading
 * accounts; counts what was answered and how.
 *
 *   mt-api-load --url API --key-file F --cacert F [--clients N] [--seconds S]
 *               [--upload LIST --password-file F [--once]] [--read EMAIL]...
 *
 * API is .../v3/organizations/ORG/smime.  LIST names P12 files, one a line.
 * With both --upload and --read, half the clients upload, half read.  With
 * --once, the files are uploaded once each (then it stops); else clients
 * go round the list (an upload of a stored certificate answers 200) until
 * --seconds have passed.  Prints one JSON line:
 *   {"requests", "uploads", "reads", "errors", "seconds", "perSecond"}
 * and exits 1 when any request failed (status other than 200/201, or no answer).
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 256
#define MAX_READS 64

typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

typedef struct load {
    const char *url, *cacert;
    char auth[128];
    int clients;
    double seconds;
    bool once;
    char **bodies; /* one JSON upload body per file */
    size_t n_files;
    char *reads[MAX_READS];
    size_t n_reads;
    pthread_mutex_t lock;
    size_t next_file;
    unsigned long requests, uploads, reads_done, errors;
    double started;
} load;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "mt-api-load: %s\n", what);
    exit(2);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buffer b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n + 1 > b.cap) {
            b.cap = (b.len + n + 1) * 2;
            if (!(b.data = realloc(b.data, b.cap)))
                die("out of memory");
        }
        memcpy(b.data + b.len, chunk, n);
        b.len += n;
    }
    fclose(f);
    if (!b.data && !(b.data = calloc(1, 1)))
        die("out of memory");
    b.data[b.len] = '\0';
    *len = b.len;
    return b.data;
}

static char *first_line(const char *path)
{
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text)
        return NULL;
    text[strcspn(text, "\r\n")] = '\0';
    return text;
}

/* {"certificateData": base64, "password": ...} for each listed file. */
static void load_uploads(load *l, const char *list_path, const char *password)
{
    size_t len = 0;
    char *list = read_all(list_path, &len), *save = NULL;
    if (!list)
        die("cannot read the upload list");
    for (char *path = strtok_r(list, "\n", &save); path; path = strtok_r(NULL, "\n", &save)) {
        size_t size = 0;
        unsigned char *p12 = (unsigned char *)read_all(path, &size);
        if (!p12)
            die("cannot read a listed file");
        size_t b64_len = 4 * ((size + 2) / 3);
        char *body = malloc(b64_len + strlen(password) + 64);
        if (!body)
            die("out of memory");
        int n = sprintf(body, "{\"certificateData\":\"");
        EVP_EncodeBlock((unsigned char *)body + n, p12, (int)size);
        sprintf(body + n + b64_len, "\",\"password\":\"%s\"}", password);
        free(p12);
        if (!(l->bodies = realloc(l->bodies, (l->n_files + 1) * sizeof(char *))))
            die("out of memory");
        l->bodies[l->n_files++] = body;
    }
    free(list);
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    buffer *b = arg;
    size_t len = size * n;
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        if (!(b->data = realloc(b->data, b->cap)))
            return 0;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* One request; false when it failed (reported, at most a few times). */
static bool request(load *l, CURL *h, const char *url, const char *body, buffer *reply)
{
    long status = 0;
    reply->len = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    bool ok = rc == CURLE_OK && (status == 200 || status == 201);
    pthread_mutex_lock(&l->lock);
    l->requests++;
    if (!ok && l->errors++ < 5)
        fprintf(stderr, "mt-api-load: %s %s: %s, HTTP %ld: %.200s\n", body ? "POST" : "GET", url,
                curl_easy_strerror(rc), status, reply->data ? reply->data : "");
    pthread_mutex_unlock(&l->lock);
    return ok;
}

typedef struct client {
    load *l;
    int index;
    bool uploader;
} client;

/* The next file to upload, or -1 when --once has uploaded them all. */
static long next_file(load *l)
{
    pthread_mutex_lock(&l->lock);
    long i = l->once && l->next_file >= l->n_files ? -1 : (long)(l->next_file++ % l->n_files);
    pthread_mutex_unlock(&l->lock);
    return i;
}

static void *run_client(void *arg)
{
    client *c = arg;
    load *l = c->l;
    buffer reply = {0};
    char url[1024];
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, l->auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_CAINFO, l->cacert);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    for (unsigned long k = (unsigned long)c->index;; k++) {
        if (!l->once && now() - l->started >= l->seconds)
            break;
        if (c->uploader) {
            long i = next_file(l);
            if (i < 0)
                break;
            snprintf(url, sizeof(url), "%s/certificates/upload/p12", l->url);
            if (request(l, h, url, l->bodies[i], &reply)) {
                pthread_mutex_lock(&l->lock);
                l->uploads++;
                pthread_mutex_unlock(&l->lock);
            }
        } else {
            snprintf(url, sizeof(url), "%s/email-accounts/%s", l->url, l->reads[k % l->n_reads]);
            if (request(l, h, url, NULL, &reply)) {
                pthread_mutex_lock(&l->lock);
                l->reads_done++;
                pthread_mutex_unlock(&l->lock);
            }
        }
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    free(reply.data);
    return NULL;
}

int main(int argc, char **argv)
{
    load l = {.clients = 4, .seconds = 10};
    const char *key_file = NULL, *upload_list = NULL, *password_file = NULL;
    pthread_mutex_init(&l.lock, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--once")) {
            l.once = true;
            continue;
        }
        if (!v)
            die("every option but --once takes a value");
        i++;
        if (!strcmp(a, "--url"))
            l.url = v;
        else if (!strcmp(a, "--key-file"))
            key_file = v;
        else if (!strcmp(a, "--cacert"))
            l.cacert = v;
        else if (!strcmp(a, "--clients"))
            l.clients = atoi(v);
        else if (!strcmp(a, "--seconds"))
            l.seconds = atof(v);
        else if (!strcmp(a, "--upload"))
            upload_list = v;
        else if (!strcmp(a, "--password-file"))
            password_file = v;
        else if (!strcmp(a, "--read") && l.n_reads < MAX_READS)
            l.reads[l.n_reads++] = (char *)v;
        else
            die("unknown option (see the comment at the top of mt-api-load.c)");
    }
    if (!l.url || !key_file || !l.cacert || l.clients < 1 || l.clients > MAX_CLIENTS ||
        (!upload_list && !l.n_reads) || (upload_list && !password_file))
        die("usage: mt-api-load --url API --key-file F --cacert F [--clients N] [--seconds S] "
            "[--upload LIST --password-file F [--once]] [--read EMAIL]...");
    char *key = first_line(key_file), *password = NULL;
    if (!key)
        die("cannot read the key file");
    snprintf(l.auth, sizeof(l.auth), "Authorization: Bearer %s", key);
    if (upload_list) {
        if (!(password = first_line(password_file)))
            die("cannot read the password file");
        load_uploads(&l, upload_list, password);
        if (!l.n_files)
            die("the upload list is empty");
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t threads[MAX_CLIENTS];
    client clients[MAX_CLIENTS];
    l.started = now();
    for (int i = 0; i < l.clients; i++) {
        bool uploader = upload_list && (!l.n_reads || i % 2 == 0);
        clients[i] = (client){&l, i, uploader};
        if (pthread_create(&threads[i], NULL, run_client, &clients[i]) != 0)
            die("cannot start a client thread");
    }
    for (int i = 0; i < l.clients; i++)
        pthread_join(threads[i], NULL);
    double seconds = now() - l.started;
    printf("{\"requests\":%lu,\"uploads\":%lu,\"reads\":%lu,\"errors\":%lu,\"seconds\":%.3f,"
           "\"perSecond\":%.1f}\n",
           l.requests, l.uploads, l.reads_done, l.errors, seconds, l.requests / seconds);
    curl_global_cleanup();
    for (size_t i = 0; i < l.n_files; i++)
        free(l.bodies[i]);
    free(l.bodies);
    free(key);
    free(password);
    return l.errors ? 1 : 0;
}
