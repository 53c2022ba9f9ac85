/*
 * post_load: the load generator of scripts/bench.sh's serve section. Posts every envelope file named
 * in LIST (one path a line) once, as `POST /v1/envelopes`, over CONNECTIONS keep-alive connections to
 * 127.0.0.1:PORT, one thread per connection, each taking the next envelope when its last answer is
 * in (so at most CONNECTIONS requests are in flight). The files are read into memory before the
 * clock starts.
 *
 *   post_load PORT CONNECTIONS LIST
 *
 * Prints one line of key=value pairs: posts, accepted (complete 201 answers), other (any other
 * status), errors (connection failures), reconnects, seconds (first send to last answer),
 * per_second (accepted / seconds), p50_ms, p99_ms, max_ms (latency from the first byte sent to the
 * last byte of the answer), cpu_seconds (this process's user + system time, to show that the
 * generator is not the limit), first_other (the status line and the start of the body of the first
 * non-201 answer; always last on the line).
 *
 * Build: cc -O2 -o post_load post_load.c -lpthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int port;
static size_t count;
static char **bodies;
static size_t *sizes;
static double *latency;
static atomic_size_t next_index, accepted, other, errors, reconnects;
static char first_other[300];
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) { w -= iov->iov_len; iov++; n--; }
        if (n > 0) { iov->iov_base = (char *)iov->iov_base + w; iov->iov_len -= w; }
    }
    return 0;
}

/* Reads one answer; returns its status code (0 on a broken connection) and sets *close_after. */
static int read_answer(int fd, char *buf, size_t cap, int *close_after, char *status_line, char *body_start) {
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == cap) return 0;
        ssize_t r = read(fd, buf + have, cap - have);
        if (r <= 0) return 0;
        have += r;
        end = memmem(buf, have, "\r\n\r\n", 4);
    }
    size_t head = end + 4 - buf;
    if (have < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0) return 0;
    int code = atoi(buf + 9);
    char *eol = memchr(buf, '\r', head);
    size_t sl = eol ? (size_t)(eol - buf) : 0;
    if (sl > 127) sl = 127;
    memcpy(status_line, buf, sl);
    status_line[sl] = 0;
    long length = 0;
    *close_after = 0;
    for (char *line = eol ? eol + 2 : buf + head; line < buf + head - 2;) {
        char *e = memmem(line, buf + head - line, "\r\n", 2);
        if (!e) break;
        if (strncasecmp(line, "content-length:", 15) == 0) length = atol(line + 15);
        if (strncasecmp(line, "connection:", 11) == 0 && memmem(line, e - line, "close", 5)) *close_after = 1;
        line = e + 2;
    }
    size_t body = have - head;
    size_t keep = body < 127 ? body : 127;
    memcpy(body_start, buf + head, keep);
    body_start[keep] = 0;
    while ((long)body < length) {
        ssize_t r = read(fd, buf, cap);
        if (r <= 0) return 0;
        body += r;
    }
    return code;
}

static void *worker(void *unused) {
    (void)unused;
    char buf[65536], header[256], status[128], body_start[128];
    int fd = -1, dialed = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&next_index, 1);
        if (i >= count) break;
        int hl = snprintf(header, sizeof header,
                          "POST /v1/envelopes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Length: %zu\r\n\r\n", sizes[i]);
        for (int attempt = 0;; attempt++) {
            if (fd < 0) {
                fd = dial();
                if (fd < 0) { atomic_fetch_add(&errors, 1); break; }
                if (dialed++) atomic_fetch_add(&reconnects, 1);
            }
            struct iovec iov[2] = {{header, hl}, {bodies[i], sizes[i]}};
            double t0 = now();
            int close_after = 0;
            int code = send_all(fd, iov, 2) == 0 ? read_answer(fd, buf, sizeof buf, &close_after, status, body_start) : 0;
            if (code == 0) {
                /* A keep-alive connection the server closed between two requests: once more on a new one. */
                close(fd);
                fd = -1;
                if (attempt == 0) continue;
                atomic_fetch_add(&errors, 1);
                break;
            }
            latency[i] = now() - t0;
            if (code == 201) {
                atomic_fetch_add(&accepted, 1);
            } else {
                if (atomic_fetch_add(&other, 1) == 0) {
                    pthread_mutex_lock(&first_lock);
                    for (char *c = body_start; *c; c++) if (*c == '\n' || *c == '\r') *c = ' ';
                    snprintf(first_other, sizeof first_other, "%s: %s", status, body_start);
                    pthread_mutex_unlock(&first_lock);
                }
            }
            if (close_after) { close(fd); fd = -1; }
            break;
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: post_load PORT CONNECTIONS LIST\n");
        return 64;
    }
    port = atoi(argv[1]);
    int connections = atoi(argv[2]);
    FILE *list = fopen(argv[3], "r");
    if (!list || port <= 0 || connections <= 0) { perror("post_load"); return 64; }
    size_t cap = 1024;
    bodies = malloc(cap * sizeof *bodies);
    sizes = malloc(cap * sizeof *sizes);
    char path[4096];
    while (fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0;
        if (!*path) continue;
        if (count == cap) {
            cap *= 2;
            bodies = realloc(bodies, cap * sizeof *bodies);
            sizes = realloc(sizes, cap * sizeof *sizes);
        }
        FILE *f = fopen(path, "rb");
        struct stat st;
        if (!f || fstat(fileno(f), &st) != 0) { perror(path); return 66; }
        bodies[count] = malloc(st.st_size);
        if (fread(bodies[count], 1, st.st_size, f) != (size_t)st.st_size) { perror(path); return 74; }
        sizes[count++] = st.st_size;
        fclose(f);
    }
    fclose(list);
    latency = calloc(count, sizeof *latency);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    pthread_t *threads = malloc(connections * sizeof *threads);
    double start = now();
    for (int t = 0; t < connections; t++) pthread_create(&threads[t], NULL, worker, NULL);
    for (int t = 0; t < connections; t++) pthread_join(threads[t], NULL);
    double seconds = now() - start;
    getrusage(RUSAGE_SELF, &after);
    double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                 (after.ru_stime.tv_sec - before.ru_stime.tv_sec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    size_t answered = 0;
    for (size_t i = 0; i < count; i++) if (latency[i] > 0) latency[answered++] = latency[i];
    qsort(latency, answered, sizeof *latency, cmp);
    double p50 = answered ? latency[answered / 2] : 0, p99 = answered ? latency[(size_t)(answered * 0.99)] : 0;
    double mx = answered ? latency[answered - 1] : 0;
    printf("posts=%zu accepted=%zu other=%zu errors=%zu reconnects=%zu seconds=%.3f per_second=%.1f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f cpu_seconds=%.3f first_other=%s\n",
           count, (size_t)accepted, (size_t)other, (size_t)errors, (size_t)reconnects, seconds,
           seconds > 0 ? accepted / seconds : 0, p50 * 1e3, p99 * 1e3, mx * 1e3, cpu, *first_other ? first_other : "-");
    return errors ? 1 : 0;
}
