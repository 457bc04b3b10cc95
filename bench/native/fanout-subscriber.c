/*
 * Cheap fan-out subscribers for benchmarks: N raw TCP connections that send a
 * handshake, wait for a ready token, then only scan received bytes for unit markers
 * "#U" + 6 digits, recording when each unit first and last arrived (CLOCK_MONOTONIC,
 * the clock Node's process.hrtime uses). One epoll loop, no frame parsing: the
 * measuring side must cost far less than the server it measures.
 *
 *   fanout-subscriber PORT COUNT UNITS HANDSHAKE READY_TOKEN
 *
 * HANDSHAKE and READY_TOKEN accept \r and \n escapes. Prints "READY" once every
 * connection saw its token; when every unit reached every connection (or on EOF of
 * stdin) prints one line per unit: "n count latest_us", then "DONE".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARK_DIGITS 6
/* One byte short of a whole marker, so a marker is never counted twice. */
#define CARRY 7

struct conn {
  int fd;
  int ready;
  size_t matched; /* bytes of the ready token matched so far */
  char carry[CARRY + 1];
  int carry_len;
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static char *unescape(const char *s) {
  char *out = malloc(strlen(s) + 1), *o = out;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == 'r') { *o++ = '\r'; s++; }
    else if (s[0] == '\\' && s[1] == 'n') { *o++ = '\n'; s++; }
    else *o++ = *s;
  }
  *o = 0;
  return out;
}

static uint64_t *latest;
static uint32_t *counts;
static long units, complete;
static uint32_t subscribers;

static void scan(const char *p, size_t n, uint64_t t) {
  for (size_t i = 0; i + 2 + MARK_DIGITS <= n; i++) {
    if (p[i] != '#' || p[i + 1] != 'U') continue;
    long v = 0;
    int ok = 1;
    for (int d = 0; d < MARK_DIGITS; d++) {
      char c = p[i + 2 + d];
      if (c < '0' || c > '9') { ok = 0; break; }
      v = v * 10 + (c - '0');
    }
    if (!ok || v >= units) continue;
    if (++counts[v] == subscribers) complete++;
    if (t > latest[v]) latest[v] = t;
    i += 1 + MARK_DIGITS;
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s PORT COUNT UNITS HANDSHAKE READY_TOKEN\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int count = atoi(argv[2]);
  subscribers = (uint32_t)count;
  units = atol(argv[3]);
  char *hello = unescape(argv[4]);
  char *token = unescape(argv[5]);
  size_t token_len = strlen(token), hello_len = strlen(hello);
  latest = calloc(units, sizeof *latest);
  counts = calloc(units, sizeof *counts);
  struct conn *conns = calloc(count, sizeof *conns);
  int ep = epoll_create1(0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);

  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
    if (write(fd, hello, hello_len) != (ssize_t)hello_len) { perror("write"); return 1; }
    conns[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  struct epoll_event stdin_ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &stdin_ev);

  int ready = 0, announced = 0, done = 0;
  static char buf[1 << 16];
  struct epoll_event events[256];
  while (!done) {
    int n = epoll_wait(ep, events, 256, 1000);
    uint64_t t = now_us();
    for (int e = 0; e < n; e++) {
      uint32_t id = events[e].data.u32;
      if (id == UINT32_MAX) { /* stdin: EOF or a line means stop */
        if (read(0, buf, sizeof buf) <= 0) done = 1; else done = 1;
        continue;
      }
      struct conn *c = &conns[id];
      ssize_t r = read(c->fd, buf + CARRY, sizeof buf - CARRY);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        fprintf(stderr, "connection %u closed\n", id);
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        continue;
      }
      char *p = buf + CARRY;
      size_t len = (size_t)r;
      if (!c->ready) {
        size_t k = 0;
        while (k < len && c->matched < token_len) {
          c->matched = (p[k] == token[c->matched]) ? c->matched + 1 : (p[k] == token[0] ? 1 : 0);
          k++;
        }
        if (c->matched < token_len) continue;
        c->ready = 1;
        p += k;
        len -= k;
        if (++ready == count && !announced) {
          announced = 1;
          printf("READY\n");
          fflush(stdout);
        }
      }
      /* Markers may straddle reads: scan the kept tail of the last read with this one. */
      memcpy(p - c->carry_len, c->carry, c->carry_len);
      scan(p - c->carry_len, len + c->carry_len, t);
      int keep = len < CARRY ? (int)len : CARRY;
      memcpy(c->carry, p + len - keep, keep);
      c->carry_len = keep;
    }
    if (units > 0 && complete == units) done = 1; /* every unit reached every connection */
  }
  for (long i = 0; i < units; i++) printf("%ld %u %llu\n", i, counts[i], (unsigned long long)latest[i]);
  printf("DONE\n");
  return 0;
}
