/*
 * Cheap fan-out subscribers for benchmarks: N raw TCP connections that send a
 * handshake, wait for a ready token, then only scan received bytes for unit markers
 * "#U" + 6 digits, recording when each unit first and last arrived (CLOCK_MONOTONIC,
 * the clock Node's process.hrtime uses). One epoll loop, no frame parsing: the
 * measuring side must cost far less than the server it measures.
 *
 *   fanout-subscriber PORT COUNT UNITS HANDSHAKE READY_TOKEN [redis:STREAM_KEY]
 *
 * HANDSHAKE and READY_TOKEN accept \r and \n escapes; "%d" in HANDSHAKE becomes the
 * connection's index (a NATS deliver subject per subscriber). Prints "READY" once every
 * connection saw its token; when every unit reached every connection (or on EOF of
 * stdin) prints one line per unit: "n count latest_us", then "DONE".
 *
 * WebSocket, SSE and NATS push a stream after one handshake. A Redis Streams reader
 * instead asks again after every reply (XREAD BLOCK from the last entry id it got), as
 * every XREAD BLOCK client does: with "redis:KEY" each connection follows the RESP
 * replies just far enough to know where a reply ends and what its last entry id was.
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

struct resp {
  int depth;
  long remain[16];  /* elements left in each open array */
  char line[64];    /* the header line being read ("*3", "$12", "+OK") */
  int line_len;
  long bulk_left;   /* payload bytes (and CRLF) of the bulk string being read */
  long bulk_len;
  char id[48];      /* a short bulk string, kept in case it is an entry id */
  int id_len;
  char last_id[48]; /* the newest entry id seen: where the next XREAD starts */
};

struct conn {
  int fd;
  int ready;
  size_t matched; /* bytes of the ready token matched so far */
  char carry[CARRY + 1];
  int carry_len;
  struct resp resp;
};

static const char *redis_key; /* set in redis mode */

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

/* HANDSHAKE with each "%d" replaced by the connection's index (no other format directives). */
static size_t personalize(char *out, size_t cap, const char *hello, int index) {
  size_t o = 0;
  for (const char *s = hello; *s && o + 12 < cap; s++) {
    if (s[0] == '%' && s[1] == 'd') { o += (size_t)sprintf(out + o, "%d", index); s++; }
    else out[o++] = *s;
  }
  return o;
}

static void xread(struct conn *c) {
  char cmd[256];
  int n = snprintf(cmd, sizeof cmd, "XREAD BLOCK 0 COUNT 1000 STREAMS %s %s\r\n", redis_key, c->resp.last_id);
  if (write(c->fd, cmd, (size_t)n) != n) perror("xread");
}

static int is_entry_id(const char *s, int n) {
  int dash = 0, digits = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] == '-' && digits > 0 && !dash) { dash = 1; digits = 0; }
    else if (s[i] >= '0' && s[i] <= '9') digits++;
    else return 0;
  }
  return dash && digits > 0;
}

/* One element finished: close the arrays it completes; at the top level a reply is done. */
static void element_done(struct conn *c) {
  struct resp *r = &c->resp;
  while (r->depth > 0) {
    if (--r->remain[r->depth - 1] > 0) return;
    r->depth--;
  }
  xread(c);
}

static void resp_feed(struct conn *c, const char *p, size_t n) {
  struct resp *r = &c->resp;
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    if (r->bulk_left > 0) {
      if (r->bulk_left > 2 && r->bulk_len < (long)sizeof r->id && r->id_len < (int)sizeof r->id - 1) r->id[r->id_len++] = ch;
      if (--r->bulk_left == 0) {
        if (is_entry_id(r->id, r->id_len)) { memcpy(r->last_id, r->id, r->id_len); r->last_id[r->id_len] = 0; }
        element_done(c);
      }
      continue;
    }
    if (r->line_len < (int)sizeof r->line - 1) r->line[r->line_len++] = ch;
    if (ch != '\n') continue;
    r->line[r->line_len] = 0;
    long v = atol(r->line + 1);
    char type = r->line[0];
    r->line_len = 0;
    if (type == '*') {
      if (v <= 0) element_done(c);
      else if (r->depth < 16) r->remain[r->depth++] = v;
    } else if (type == '$') {
      if (v < 0) element_done(c);
      else { r->bulk_len = v; r->bulk_left = v + 2; r->id_len = 0; }
    } else {
      if (type == '-') fprintf(stderr, "redis: %s", r->line);
      element_done(c);
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s PORT COUNT UNITS HANDSHAKE READY_TOKEN [redis:STREAM_KEY]\n", argv[0]);
    return 2;
  }
  if (argc == 7 && strncmp(argv[6], "redis:", 6) == 0) redis_key = argv[6] + 6;
  int port = atoi(argv[1]);
  int count = atoi(argv[2]);
  subscribers = (uint32_t)count;
  units = atol(argv[3]);
  char *hello = unescape(argv[4]);
  char *token = unescape(argv[5]);
  size_t token_len = strlen(token);
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
    char own[4096];
    size_t own_len = personalize(own, sizeof own, hello, i);
    if (write(fd, own, own_len) != (ssize_t)own_len) { perror("write"); return 1; }
    strcpy(conns[i].resp.last_id, "0-0");
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
        if (redis_key) xread(c);
        if (++ready == count && !announced) {
          announced = 1;
          printf("READY\n");
          fflush(stdout);
        }
      }
      /* Markers may straddle reads: scan the kept tail of the last read with this one. */
      memcpy(p - c->carry_len, c->carry, c->carry_len);
      scan(p - c->carry_len, len + c->carry_len, t);
      if (redis_key) resp_feed(c, p, len);
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
