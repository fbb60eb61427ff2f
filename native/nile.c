// `nile` on PATH: the kubelet's commands (`probe`, `prestop`, `status`) answered over the control
// socket without starting Node; everything else, and every case it does not understand, is handed
// to Node with execv (same process, nothing stays around). Output and exit codes are those of
// src/cli/probe.cts, prestop.cts and status.cts; the protocol is src/control/protocol.cts.
// `nile run` is the exception: the front door stays as a small init over the Node agent, holding
// the signals that come before the agent's handlers are in (Node's start would lose them, or
// open its inspector on SIGUSR1), then forwarding them; it reaps orphans and exits with the agent.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <node_version.h>

#define PROBE_TIMEOUT_MS 800          // probe.cts: agentTimeoutMs
#define STATUS_TIMEOUT_MS 5000        // status.cts
#define PRESTOP_TIMEOUT_MS 1800000    // prestop.cts: hookTimeoutMs
#define MAX_LINE_UNITS 1024           // protocol.cts: maxLine (UTF-16 units, as String.slice counts)
#define MAX_ANSWER_BYTES (64 << 20)   // more than any agent answer; beyond it the answer is bad
#define MAX_DEPTH 512                 // deeper JSON is treated as a bad answer

static char **args;

// ---- growable buffers: bytes, and UTF-16 units (JavaScript strings) ----
typedef struct { char *p; size_t n, cap; } bytes;
typedef struct { uint16_t *u; size_t n, cap; } units;

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return p;
  size_t cap2 = *cap ? *cap : 256;
  while (cap2 < need) cap2 *= 2;
  void *q = realloc(p, cap2 * size);
  if (!q) {
    static const char oom[] = "nile: out of memory\n";
    if (write(2, oom, sizeof oom - 1) < 0) _exit(70);
    _exit(70);
  }
  *cap = cap2;
  return q;
}
static void put(bytes *b, const void *s, size_t n) {
  b->p = grow(b->p, &b->cap, b->n + n + 1, 1);
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }
static void unit(units *s, uint16_t u) {
  s->u = grow(s->u, &s->cap, s->n + 1, sizeof *s->u);
  s->u[s->n++] = u;
}
static void codepoint(units *s, uint32_t c) {
  if (c < 0x10000) return unit(s, (uint16_t)c);
  c -= 0x10000;
  unit(s, (uint16_t)(0xD800 + (c >> 10)));
  unit(s, (uint16_t)(0xDC00 + (c & 0x3FF)));
}
static void ascii(units *s, const char *text) {
  while (*text) unit(s, (unsigned char)*text++);
}

// ---- UTF-8 ----
static void put_utf8(bytes *b, uint32_t c) {
  char o[4];
  if (c < 0x80) o[0] = (char)c, put(b, o, 1);
  else if (c < 0x800) o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3F)), put(b, o, 2);
  else if (c < 0x10000) o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | ((c >> 6) & 0x3F)), o[2] = (char)(0x80 | (c & 0x3F)), put(b, o, 3);
  else o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | ((c >> 12) & 0x3F)), o[2] = (char)(0x80 | ((c >> 6) & 0x3F)), o[3] = (char)(0x80 | (c & 0x3F)), put(b, o, 4);
}

// One code point from s (at most n bytes); invalid input counts as U+FFFD over its maximal subpart, as
// Node's (WHATWG) decoder does. Returns the bytes consumed.
static size_t next_utf8(const unsigned char *s, size_t n, uint32_t *out) {
  unsigned char c = s[0];
  *out = 0xFFFD;
  if (c < 0x80) return *out = c, 1;
  int len;
  uint32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else return 1;
  for (int i = 1; i < len; i++) {
    if ((size_t)i >= n || s[i] < lo || s[i] > hi) return (size_t)i;
    cp = cp << 6 | (s[i] & 0x3F);
    lo = 0x80, hi = 0xBF;
  }
  return *out = cp, (size_t)len;
}

// The answer as Node reads it: bytes decoded as UTF-8 (bad bytes become U+FFFD), then String.trim().
static int js_space(uint32_t c) {
  return c == 9 || c == 10 || c == 11 || c == 12 || c == 13 || c == 32 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}
static bytes decoded_text(const bytes *raw) {
  bytes out = {0};
  put(&out, "", 0);
  size_t last_non_space = 0;
  int started = 0;
  for (size_t i = 0; i < raw->n;) {
    uint32_t c;
    i += next_utf8((const unsigned char *)raw->p + i, raw->n - i, &c);
    if (!started && js_space(c)) continue;
    started = 1;
    put_utf8(&out, c);
    if (!js_space(c)) last_non_space = out.n;
  }
  out.n = last_non_space;
  out.p[out.n] = 0;
  return out;
}

static void utf8_units(const char *s, size_t n, units *out) {
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += next_utf8((const unsigned char *)s + i, n - i, &c);
    codepoint(out, c);
  }
}

// A JavaScript string written out: lone surrogates become U+FFFD (text) or \udxxx (JSON.stringify).
static void write_units(bytes *b, const units *s, size_t limit, int as_json) {
  if (limit > s->n) limit = s->n;
  if (as_json) put(b, "\"", 1);
  for (size_t i = 0; i < limit; i++) {
    uint32_t c = s->u[i];
    int pair = c >= 0xD800 && c <= 0xDBFF && i + 1 < limit && s->u[i + 1] >= 0xDC00 && s->u[i + 1] <= 0xDFFF;
    if (pair) {
      put_utf8(b, 0x10000 + ((c - 0xD800) << 10) + (s->u[++i] - 0xDC00));
      continue;
    }
    int lone = c >= 0xD800 && c <= 0xDFFF;
    if (!as_json) {
      put_utf8(b, lone ? 0xFFFD : c);
      continue;
    }
    char esc[8];
    if (c == '"') puts_(b, "\\\"");
    else if (c == '\\') puts_(b, "\\\\");
    else if (c == '\b') puts_(b, "\\b");
    else if (c == '\f') puts_(b, "\\f");
    else if (c == '\n') puts_(b, "\\n");
    else if (c == '\r') puts_(b, "\\r");
    else if (c == '\t') puts_(b, "\\t");
    else if (c < 0x20 || lone) snprintf(esc, sizeof esc, "\\u%04x", c), puts_(b, esc);
    else put_utf8(b, c);
  }
  if (as_json) put(b, "\"", 1);
}

// ---- JSON, as JSON.parse reads it (the text is valid UTF-8 here) ----
typedef struct { const char *p, *end; } cursor;
enum kind { BAD = -1, STRING, NUMBER, OBJECT, ARRAY, TRUE, FALSE, NUL };

static void ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}
static int hex4(const char *p, uint32_t *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char h = p[i];
    int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
    if (d < 0) return 0;
    *v = *v << 4 | (uint32_t)d;
  }
  return 1;
}
// A string at c->p (the opening quote); its value goes to out when out is not NULL.
static int string(cursor *c, units *out) {
  c->p++;
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') return c->p++, STRING;
    if (ch < 0x20) return BAD;
    if (ch != '\\') {
      uint32_t cp;
      c->p += next_utf8((const unsigned char *)c->p, (size_t)(c->end - c->p), &cp);
      if (out) codepoint(out, cp);
      continue;
    }
    if (c->end - c->p < 2) return BAD;
    char e = c->p[1];
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      static const char value[] = "\"\\/\b\f\n\r\t";
      if (out) unit(out, (unsigned char)value[simple - "\"\\/bfnrt"]);
      c->p += 2;
    } else if (e == 'u' && c->end - c->p >= 6) {
      uint32_t v;
      if (!hex4(c->p + 2, &v)) return BAD;
      if (out) unit(out, (uint16_t)v);
      c->p += 6;
    } else {
      return BAD;
    }
  }
  return BAD;
}
static int digits(cursor *c) {
  const char *from = c->p;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  return c->p > from;
}
static int number(cursor *c) {
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p < c->end && *c->p == '0') c->p++;
  else if (!digits(c)) return BAD;
  if (c->p < c->end && *c->p == '.' && (c->p++, !digits(c))) return BAD;
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (!digits(c)) return BAD;
  }
  return NUMBER;
}
static int word(cursor *c, const char *w, int kind) {
  size_t n = strlen(w);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return BAD;
  c->p += n;
  return kind;
}

static int value(cursor *c, int depth);
// The members of an object or the items of an array; on_member sees each key and its value's start.
typedef void (*member_fn)(void *ctx, const units *key, cursor *at, int *kind);
static int container(cursor *c, int depth, int object, member_fn on_member, void *ctx) {
  char close = object ? '}' : ']';
  if (depth > MAX_DEPTH) return BAD;
  c->p++;
  ws(c);
  if (c->p < c->end && *c->p == close) return c->p++, object ? OBJECT : ARRAY;
  for (;;) {
    units key = {0};
    if (object) {
      if (c->p >= c->end || *c->p != '"' || string(c, on_member ? &key : NULL) == BAD) return free(key.u), BAD;
      ws(c);
      if (c->p >= c->end || *c->p++ != ':') return free(key.u), BAD;
      ws(c);
    }
    int kind = -2;
    if (on_member) on_member(ctx, &key, c, &kind);
    free(key.u);
    if (kind == -2) kind = value(c, depth + 1);
    if (kind == BAD) return BAD;
    ws(c);
    if (c->p >= c->end) return BAD;
    if (*c->p == close) return c->p++, object ? OBJECT : ARRAY;
    if (*c->p++ != ',') return BAD;
    ws(c);
  }
}
static int value(cursor *c, int depth) {
  if (c->p >= c->end) return BAD;
  switch (*c->p) {
    case '"': return string(c, NULL);
    case '{': return container(c, depth, 1, NULL, NULL);
    case '[': return container(c, depth, 0, NULL, NULL);
    case 't': return word(c, "true", TRUE);
    case 'f': return word(c, "false", FALSE);
    case 'n': return word(c, "null", NUL);
    default: return number(c);
  }
}

// The top-level object's fields the fast commands read: `ready`, `reason` (probe) and `text` (status).
typedef struct {
  int ready;              // kind of the last `ready` value, -2 when absent
  int reason_is_string;
  units reason;
  int text_is_string;
  units text;
} answer;

static int key_is(const units *key, const char *name) {
  size_t n = strlen(name);
  if (key->n != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (key->u[i] != (unsigned char)name[i]) return 0;
  return 1;
}
static void read_member(void *ctx, const units *key, cursor *at, int *kind) {
  answer *a = ctx;
  int is_reason = key_is(key, "reason"), is_text = key_is(key, "text");
  if ((is_reason || is_text) && at->p < at->end && *at->p == '"') {
    units *into = is_reason ? &a->reason : &a->text;
    into->n = 0;
    *kind = string(at, into);
  } else {
    *kind = value(at, 1);
  }
  // JSON.parse keeps the last of duplicate keys.
  if (key_is(key, "ready")) a->ready = *kind;
  if (is_reason) a->reason_is_string = *kind == STRING;
  if (is_text) a->text_is_string = *kind == STRING;
}

// Parses the whole text; 1 when it is one JSON value, filling a when it is an object.
static int parse_answer(const bytes *text, answer *a) {
  cursor c = {text->p, text->p + text->n};
  a->ready = -2;
  int kind = c.p < c.end && *c.p == '{' ? container(&c, 1, 1, read_member, a) : value(&c, 1);
  if (kind != OBJECT) a->ready = -2, a->reason_is_string = a->text_is_string = 0;
  ws(&c);
  return kind != BAD && c.p == c.end;
}

// JSON.stringify(JSON.parse(text), null, 2) for text that JSON.stringify wrote: only the layout changes.
static void indented(bytes *out, const bytes *text) {
  int depth = 0;
  const char *p = text->p, *end = text->p + text->n;
  while (p < end) {
    char ch = *p;
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      p++;
    } else if (ch == '"') {
      const char *from = p++;
      while (p < end && *p != '"') p += *p == '\\' ? 2 : 1;
      put(out, from, (size_t)(++p - from));
    } else if (ch == '{' || ch == '[') {
      const char *q = p + 1;
      while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
      put(out, p, 1);
      if (q < end && *q == (ch == '{' ? '}' : ']')) {
        put(out, q, 1);
        p = q + 1;
        continue;
      }
      depth++;
      put(out, "\n", 1);
      for (int i = 0; i < depth; i++) put(out, "  ", 2);
      p++;
    } else if (ch == '}' || ch == ']') {
      depth--;
      put(out, "\n", 1);
      for (int i = 0; i < depth; i++) put(out, "  ", 2);
      put(out, p++, 1);
    } else if (ch == ',') {
      put(out, ",\n", 2);
      for (int i = 0; i < depth; i++) put(out, "  ", 2);
      p++;
    } else if (ch == ':') {
      put(out, ": ", 2);
      p++;
    } else {
      put(out, p++, 1);
    }
  }
  put(out, "\n", 1);
}

// ---- the socket ----
static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void error_text(char *out, size_t size, const char *op, int err, const char *file) {
  const char *name = strerrorname_np(err);
  if (file) snprintf(out, size, "%s %s %s", op, name ? name : "E?", file);
  else snprintf(out, size, "%s %s", op, name ? name : "E?");
}

enum asked { ANSWERED, NO_AGENT, FAILED };

// One request line, then everything the agent writes until it closes, within timeout_ms.
static enum asked ask(const char *file, const char *request, int timeout_ms, bytes *answer_bytes, char *why, size_t why_size) {
  long long deadline = now_ms() + timeout_ms;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, file);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return error_text(why, why_size, "socket", errno, NULL), FAILED;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    struct stat st;
    close(fd);
    // No socket there (Node then looks for the config's runDir) or no one listening (the probe checks the app itself).
    if (err == ECONNREFUSED || stat(file, &st) < 0) return NO_AGENT;
    return error_text(why, why_size, "connect", err, file), FAILED;
  }
  size_t len = strlen(request);
  if (write(fd, request, len) != (ssize_t)len) {
    int err = errno;
    close(fd);
    return error_text(why, why_size, "write", err, NULL), FAILED;
  }
  char chunk[65536];
  for (;;) {
    long long left = deadline - now_ms();
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = left > 0 ? poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      close(fd);
      snprintf(why, why_size, "no answer within %dms", timeout_ms);
      return FAILED;
    }
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int err = errno;
      close(fd);
      return error_text(why, why_size, "read", err, NULL), FAILED;
    }
    if (got == 0) break;
    if (answer_bytes->n + (size_t)got > MAX_ANSWER_BYTES) {
      close(fd);
      snprintf(why, why_size, "an answer over %d bytes", MAX_ANSWER_BYTES);
      return FAILED;
    }
    put(answer_bytes, chunk, (size_t)got);
  }
  close(fd);
  return ANSWERED;
}

// Why an answer is not JSON, as client.cts words it.
static void bad_answer(units *why, const bytes *text) {
  if (text->n == 0) return ascii(why, "the agent closed the connection without an answer");
  ascii(why, "bad answer from the agent: ");
  units all = {0};
  utf8_units(text->p, text->n < 800 ? text->n : 800, &all); // 200 units take at most 800 bytes
  for (size_t i = 0; i < all.n && i < 200; i++) unit(why, all.u[i]);
  free(all.u);
}

static void write_all(int fd, const bytes *b) {
  for (size_t done = 0; done < b->n;) {
    ssize_t n = write(fd, b->p + done, b->n - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += (size_t)n;
  }
}

// ---- the agent's start: Node behind a small init ----
// The signals nile forwards to the app (src/pid1/signals.ts); any other is ignored, as PID 1 ignores it.
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define FORWARDED (sizeof forwarded / sizeof forwarded[0])
static sigset_t held_signals, mask_at_start;

static void hold_signals(void) {
  sigemptyset(&held_signals);
  for (size_t i = 0; i < FORWARDED; i++) sigaddset(&held_signals, forwarded[i]);
  sigaddset(&held_signals, SIGCHLD);
  sigprocmask(SIG_BLOCK, &held_signals, &mask_at_start);
}
static void release_signals(void) { sigprocmask(SIG_SETMASK, &mask_at_start, NULL); }

// How the agent ended, as a shell says it: its status, or 128+N after signal N.
static int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 70; }

// Reaps every child that has ended (the agent, and orphans re-parented to PID 1); the agent's status when it is one of them.
static int reap_children(pid_t agent, int *agent_status) {
  int status, ended = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    if (pid == agent) *agent_status = status, ended = 1;
  return ended;
}

// Signals that came before the agent's handlers: each kept once, in the order they came (the kernel
// too keeps one of each pending signal); the agent gets them once it says its handlers are in.
typedef struct { int sig[FORWARDED]; size_t n; } held;
static void hold(held *h, int sig) {
  for (size_t i = 0; i < h->n; i++)
    if (h->sig[i] == sig) return;
  if (h->n < FORWARDED) h->sig[h->n++] = sig;
}

// Forks the agent with the signals held; returns its exit status when it ends.
static int supervise_agent(char **argv) {
  int ready[2];
  int sfd = signalfd(-1, &held_signals, SFD_CLOEXEC);
  if (sfd < 0 || pipe2(ready, O_CLOEXEC) < 0) return fprintf(stderr, "nile: cannot start: %s\n", strerror(errno)), 70;
  pid_t agent = fork();
  if (agent < 0) return fprintf(stderr, "nile: cannot start node: %s\n", strerror(errno)), 70;
  if (agent == 0) {
    char fd[16];
    close(ready[0]);
    fcntl(ready[1], F_SETFD, 0);
    snprintf(fd, sizeof fd, "%d", ready[1]);
    setenv("NILE_SIGNALS_FD", fd, 1); // src/pid1/signals.ts closes it once its handlers are in
    release_signals();
    execvp("node", argv);
    fprintf(stderr, "nile: cannot start node: %s\n", strerror(errno));
    _exit(127);
  }
  close(ready[1]);
  held early = {.n = 0};
  int handlers_in = 0, status = 0;
  for (;;) {
    struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = handlers_in ? -1 : ready[0], .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fprintf(stderr, "nile: poll: %s\n", strerror(errno)), 70;
    }
    if (fds[1].revents) {
      char byte;
      if (read(ready[0], &byte, 1) <= 0) { // closed by the agent (or by its end): the handlers are in
        handlers_in = 1;
        close(ready[0]);
        for (size_t i = 0; i < early.n; i++) kill(agent, early.sig[i]);
      }
    }
    if (!(fds[0].revents & POLLIN)) continue;
    struct signalfd_siginfo info;
    if (read(sfd, &info, sizeof info) != sizeof info) continue;
    int sig = (int)info.ssi_signo;
    if (sig == SIGCHLD) {
      if (reap_children(agent, &status)) return exit_status(status);
    } else {  // the signalfd holds only the forwarded signals and SIGCHLD
      if (handlers_in) kill(agent, sig);
      else hold(&early, sig);
    }
  }
}

// ---- the commands ----
// Node 22.14 and 23.7 take --disable-sigusr1: no inspector on SIGUSR1 at any instant, whoever sends it.
#define NODE_HAS_DISABLE_SIGUSR1 (NODE_MAJOR_VERSION > 23 || (NODE_MAJOR_VERSION == 23 && NODE_MINOR_VERSION >= 7) || (NODE_MAJOR_VERSION == 22 && NODE_MINOR_VERSION >= 14))

// NODE_OPTIONS in the pod's env is the app's: nile's own Node must not take it (`--inspect` there
// would open the inspector in a root process). bin/nile.js gives it back to the app's env.
static void keep_node_options_for_the_app(void) {
  const char *options = getenv("NODE_OPTIONS");
  unsetenv("NILE_NODE_OPTIONS");
  if (!options) return;
  setenv("NILE_NODE_OPTIONS", options, 1);
  unsetenv("NODE_OPTIONS");
}

static void hand_to_node(void) {
  char exe[PATH_MAX], script[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    // build/Release/nile → bin/nile.js, in the checkout as in the image.
    for (int up = 0; up < 3; up++) {
      char *slash = strrchr(exe, '/');
      if (slash) *slash = 0;
    }
    snprintf(script, sizeof script, "%s/bin/nile.js", exe);
    int argc = 0, n = 0;
    while (args[argc]) argc++;
    const char *verb = args[1];
    // PID 1 (`nile`, `nile run`, `nile --config F`): an agent that idles between probes needs no
    // optimizing compiler. On Node 24, --no-opt --no-sparkplug leaves Maglev on; V8's lite mode turns
    // off Maglev, TurboFan and Sparkplug and optimizes for size: ~7 MiB less RSS in the image.
    int agent = !verb || !strcmp(verb, "run") || (verb[0] == '-' && strcmp(verb, "--help") && strcmp(verb, "-h") && strcmp(verb, "--version"));
    char **argv = calloc((size_t)argc + 5, sizeof *argv);
    if (argv) {
      argv[n++] = "node";
#if NODE_HAS_DISABLE_SIGUSR1
      argv[n++] = "--disable-sigusr1";
#endif
#if NODE_MAJOR_VERSION >= 24
      if (agent) argv[n++] = "--lite-mode";
#else
      if (agent) argv[n++] = "--no-opt", argv[n++] = "--no-sparkplug"; // Node 20's lite mode warns on stderr
#endif
      argv[n++] = script;
      for (int i = 1; i < argc; i++) argv[n++] = args[i];
      keep_node_options_for_the_app();
      if (agent) exit(supervise_agent(argv));
      release_signals();
      execvp("node", argv);
    }
  }
  fprintf(stderr, "nile: cannot start node for `%s`: %s\n", args[1] ? args[1] : "run", strerror(errno));
  exit(127);
}

static int probe(const char *file, int json) {
  bytes raw = {0}, out = {0};
  char why[PATH_MAX + 64];
  units reason = {0};
  int ready = 0;
  enum asked asked = ask(file, "probe\n", PROBE_TIMEOUT_MS, &raw, why, sizeof why);
  if (asked == NO_AGENT) hand_to_node();
  if (asked == FAILED) {
    ascii(&reason, "not ready: the agent did not answer (");
    utf8_units(why, strlen(why), &reason);
    ascii(&reason, ")");
  } else {
    bytes text = decoded_text(&raw);
    answer a = {0};
    if (!parse_answer(&text, &a)) {
      ascii(&reason, "not ready: the agent did not answer (");
      bad_answer(&reason, &text);
      ascii(&reason, ")");
    } else if ((a.ready != TRUE && a.ready != FALSE) || !a.reason_is_string) {
      ascii(&reason, "not ready: the agent gave no verdict");
    } else {
      ready = a.ready == TRUE;
      reason = a.reason;
    }
  }
  if (json) {
    puts_(&out, ready ? "{\"ready\":true,\"reason\":" : "{\"ready\":false,\"reason\":");
    write_units(&out, &reason, MAX_LINE_UNITS, 1);
    puts_(&out, "}");
  } else {
    write_units(&out, &reason, MAX_LINE_UNITS, 0);
  }
  put(&out, "\n", 1);
  write_all(1, &out);
  return ready ? 0 : 1;
}

static int status(const char *file, int json) {
  bytes raw = {0}, out = {0};
  char why[PATH_MAX + 64];
  enum asked asked = ask(file, json ? "status\n" : "status text\n", STATUS_TIMEOUT_MS, &raw, why, sizeof why);
  if (asked == NO_AGENT) hand_to_node();
  units message = {0};
  bytes text = {0};
  answer a = {0};
  if (asked == FAILED) {
    utf8_units(why, strlen(why), &message);
  } else {
    text = decoded_text(&raw);
    if (!parse_answer(&text, &a)) bad_answer(&message, &text);
  }
  if (message.n) {
    puts_(&out, "nile status: no agent answers (");
    write_units(&out, &message, message.n, 0);
    puts_(&out, ")\n");
    write_all(2, &out);
    return 1;
  }
  if (json) {
    indented(&out, &text);
  } else if (a.text_is_string) {
    write_units(&out, &a.text, a.text.n, 0);
  } else {
    puts_(&out, "nile status: the agent gave no status\n");
    write_all(2, &out);
    return 1;
  }
  write_all(1, &out);
  return 0;
}

static int prestop(const char *file) {
  bytes raw = {0};
  char why[PATH_MAX + 64];
  if (ask(file, "prestop\n", PRESTOP_TIMEOUT_MS, &raw, why, sizeof why) != ANSWERED) hand_to_node();
  bytes text = decoded_text(&raw);
  answer a = {0};
  // Anything but an answer is Node's to handle: it waits prestop.wait from the config.
  if (!parse_answer(&text, &a)) hand_to_node();
  static const char done[] = "prestop: out of traffic\n";
  if (write(1, done, sizeof done - 1) < 0) return 0;
  return 0;
}

// ---- where the agent's control socket is ----
#define MAX_CONFIG_BYTES (1 << 20) // as src/config/load.ts: a bigger file is refused (by Node, which says so)

// A top-level `runDir:` of a nile.yaml: a plain or simply quoted scalar on its line. 1 found, 0 not
// there, -1 anything else (unreadable, not a regular file, over 1 MiB, a form this does not read):
// Node's to read.
static int config_run_dir(const char *file, char *out, size_t size) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); // a FIFO must not hang us
  struct stat st;
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_CONFIG_BYTES) return close(fd), -1;
  char *text = malloc(MAX_CONFIG_BYTES + 1);
  ssize_t got = 0, n = 1;
  while (text && n > 0 && got <= MAX_CONFIG_BYTES) {
    n = read(fd, text + got, (size_t)(MAX_CONFIG_BYTES + 1 - got));
    if (n > 0) got += n;
  }
  close(fd);
  if (!text || n < 0 || got > MAX_CONFIG_BYTES) return free(text), -1;
  text[got] = 0;
  int found = 0;
  char *line = text;
  if (!strncmp(line, "\xEF\xBB\xBF", 3)) line += 3;
  if (*line == '{' || *line == '%') found = -1; // a flow mapping or a directive
  for (char *next; line && found >= 0; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r') line[--n] = 0;
    if (!strncmp(line, "---", 3) && found) found = -1; // a second document
    if (!strncmp(line, "\"runDir\"", 8) || !strncmp(line, "'runDir'", 8) || !strncmp(line, "runDir ", 7)) found = -1; // Node's to read
    if (found < 0 || strncmp(line, "runDir:", 7) || (line[7] != ' ' && line[7] != 0)) continue;
    if (found) found = -1; // a repeated key is an error Node reports
    else {
      char *v = line + 7, *end;
      while (*v == ' ') v++;
      if (*v == '"' || *v == '\'') {
        end = strchr(v + 1, *v);
        if (!end || memchr(v, '\\', (size_t)(end - v)) || end[1] == *v) found = -1;
        else v++, *end++ = 0;
      } else {
        end = strstr(v, " #");
        if (end) *end = 0;
        end = v + strlen(v);
        while (end > v && end[-1] == ' ') *--end = 0;
        if (!*v || strchr("[{&*!|>%@`#~", *v) || strstr(v, ": ") || strchr(v, '\t') || !strcmp(v, "null")) found = -1;
        end = NULL;
      }
      if (found == 0 && end) {
        while (*end == ' ') end++;
        if (*end && *end != '#') found = -1;
      }
      if (found == 0) found = snprintf(out, size, "%s", v) < (int)size ? 1 : -1;
    }
  }
  free(text);
  return found;
}

// The control socket in runDir, as src/run-dir-rule.cts trusts it: the directory is held open and
// checked (ours, writable by no one else; in a volume root or we own that others may write, its
// `private` directory), and the socket is reached through that descriptor, so a runDir swapped after
// the check is never the one asked. 0: Node's to answer (it says why one is not trusted).
static int socket_in(const char *dir, char *out, size_t size) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  if (strstr(dir, "/.") || strstr(dir, "//") || dir[0] == '.') return 0; // path.join would normalise it: Node's job
  char path[PATH_MAX];
  if (n >= sizeof path) return 0;
  memcpy(path, dir, n);
  path[n] = 0;
  uid_t me = geteuid();
  struct stat st;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  if (fstat(fd, &st) < 0 || (st.st_uid != 0 && st.st_uid != me)) return close(fd), 0;
  if (st.st_mode & 022) {
    int own = openat(fd, "private", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    if (own < 0) return 0;
    fd = own;
    if (fstat(fd, &st) < 0) return close(fd), 0;
  }
  if (st.st_uid != me || (st.st_mode & 022)) return close(fd), 0;
  int wrote = snprintf(out, size, "/proc/self/fd/%d/control.sock", fd);
  return wrote > 0 && (size_t)wrote < size;
}

// The control socket as src/cli/locate.cts finds it: NILE_RUNDIR or /run/nile when its socket is
// there and no --config is given, else the runDir of the config (--config F, NILE_CONFIG or
// /etc/nile/nile.yaml; NILE_RUNDIR overrides it). 0: Node's to find.
static int socket_file(const char *config_flag, char *out, size_t size) {
  const char *env_dir = getenv("NILE_RUNDIR"), *config = config_flag;
  char dir[PATH_MAX];
  struct stat st;
  if (getenv("NILE_RUN_DIR")) return 0;
  if (env_dir && !*env_dir) env_dir = NULL;
  if (!config_flag && socket_in(env_dir ? env_dir : "/run/nile", out, size) && stat(out, &st) == 0) return 1;
  if (!config) config = getenv("NILE_CONFIG");
  if (!config && stat("/etc/nile/nile.yaml", &st) == 0) config = "/etc/nile/nile.yaml";
  int found = config ? config_run_dir(config, dir, sizeof dir) : 0;
  if (found < 0) return 0;
  return socket_in(env_dir ? env_dir : found ? dir : "/run/nile", out, size);
}

int main(int argc, char **argv) {
  hold_signals(); // first: as PID 1, a signal with no handler and not held is lost
  args = argv;
  signal(SIGPIPE, SIG_IGN);
  const char *verb = argc > 1 ? argv[1] : "";
  int is_probe = !strcmp(verb, "probe"), is_status = !strcmp(verb, "status"), is_prestop = !strcmp(verb, "prestop");
  if (!is_probe && !is_status && !is_prestop) hand_to_node();
  release_signals();
  int json = 0;
  const char *config = NULL;
  // --help, and any flag Node would refuse with its usage: Node's to answer.
  for (int i = 2; i < argc; i++) {
    const char *value = !strncmp(argv[i], "--config=", 9) ? argv[i] + 9 : !strcmp(argv[i], "--config") && i + 1 < argc ? argv[++i] : NULL;
    if (value && !config && *value && *value != '-') config = value;
    else if (!value && !is_prestop && !strcmp(argv[i], "--json")) json = 1;
    else hand_to_node();
  }
  char file[PATH_MAX];
  if (!socket_file(config, file, sizeof file)) hand_to_node();
  if (is_probe) return probe(file, json);
  if (is_status) return status(file, json);
  return prestop(file);
}
