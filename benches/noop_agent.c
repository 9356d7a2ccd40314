/* The trivial agent of benches/runner.rs: the least a traced agent can do.
 *
 * Reads and discards stdin, POSTs one OTLP/JSON span (`execute_tool noop`) to
 * $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (http://HOST:PORT/PATH, HOST an IPv4 literal) with
 * `Connection: close`, reads the response until the receiver closes the connection (so the span
 * is stored before exit, as an SDK's shutdown waits for its exporter), prints `ok` and exits 0.
 * Any failure (no endpoint, no connection, a status other than 200) exits 1 with a message on
 * stderr, so the benchmark cannot count a trial whose span was lost.
 *
 * Built by the benchmark with `cc -O2`; plain POSIX, no dependencies. */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "noop_agent: %s\n", what);
    return 1;
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A 64-bit mix (splitmix64), so ids of processes started in the same nanosecond differ. */
static unsigned long long mix(unsigned long long x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

int main(void) {
    unsigned long long start = now_ns();
    char buf[8192];
    while (read(0, buf, sizeof buf) > 0) {
    }

    const char *endpoint = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (endpoint == NULL || strncmp(endpoint, "http://", 7) != 0)
        return fail("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not an http:// URL");
    const char *host = endpoint + 7;
    const char *colon = strchr(host, ':');
    const char *path = strchr(host, '/');
    if (colon == NULL || path == NULL || colon > path || (size_t)(colon - host) >= 64)
        return fail("the endpoint is not http://HOST:PORT/PATH");
    char host_ip[64];
    memcpy(host_ip, host, (size_t)(colon - host));
    host_ip[colon - host] = '\0';
    int port = atoi(colon + 1);

    unsigned long long pid = (unsigned long long)getpid();
    unsigned long long a = mix(start ^ (pid << 32)), b = mix(a ^ pid), c = mix(b);
    if (a == 0 && b == 0) a = 1; /* an all-zero trace id is invalid */
    if (c == 0) c = 1;
    unsigned long long end = now_ns();

    char body[2048];
    int body_len = snprintf(
        body, sizeof body,
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"noop-agent\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"noop\",\"version\":\"1\"},\"spans\":[{"
        "\"traceId\":\"%016llx%016llx\",\"spanId\":\"%016llx\",\"name\":\"execute_tool noop\","
        "\"kind\":1,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\","
        "\"attributes\":["
        "{\"key\":\"gen_ai.operation.name\",\"value\":{\"stringValue\":\"execute_tool\"}},"
        "{\"key\":\"gen_ai.tool.name\",\"value\":{\"stringValue\":\"noop\"}}]"
        "}]}]}]}",
        a, b, c, start, end);
    if (body_len <= 0 || (size_t)body_len >= sizeof body) return fail("span too long");

    char request[4096];
    int request_len = snprintf(request, sizeof request,
                               "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                               "Content-Type: application/json\r\nContent-Length: %d\r\n"
                               "Connection: close\r\n\r\n%s",
                               path, host_ip, port, body_len, body);
    if (request_len <= 0 || (size_t)request_len >= sizeof request)
        return fail("request too long");

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host_ip, &addr.sin_addr) != 1)
        return fail("the endpoint's host is not an IPv4 address");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket failed");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return fail("connect failed");
    if (write_all(fd, request, (size_t)request_len) != 0) return fail("sending the span failed");

    /* The whole response, until the receiver closes: then the span is stored. */
    char response[4096];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, response + got, sizeof response - 1 - got);
        if (n < 0) return fail("reading the response failed");
        if (n == 0) break;
        got += (size_t)n;
        if (got == sizeof response - 1) got = 64; /* keep the status line, drop the rest */
    }
    close(fd);
    response[got] = '\0';
    if (strncmp(response, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "noop_agent: the receiver answered: %.64s\n", response);
        return 1;
    }
    if (write_all(1, "ok\n", 3) != 0) return 1;
    return 0;
}
