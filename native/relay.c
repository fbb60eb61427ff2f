// Output relay. Each app stream gets a pipe read by a thread that splices it to our own fd, so the
// bytes never pass through JS. A tail keeps the most recent output, bounded by bytes, in a ring in
// memory, each line cut to its first LINE_KEEP bytes (and a note of how many more it had), so one huge
// line cannot push out the lines before it. Every byte is looked at once for its newlines: large chunks
// are teed by page reference into a staging pipe (the destination still gets them by splice) and read
// from there at once, small ones are copied.
//
// Invariants:
// - Tails are made on the main thread only and live as long as the process; a relay thread gets its
//   Tail pointer at start and never reads `tails`.
// - Under t->mu, after every call: ring_len <= keep, and the staging pipe is empty (held == 0).
// - line_len is the length of the last line so far, of which the ring holds the first LINE_KEEP bytes.
// - count is every byte that passed through the tail, kept or not; it never goes back.
// - Every byte a relay takes from the app's pipe goes to its destination and to its tail, in the
//   order written. Once the destination is gone the bytes are still taken and kept, never left in
//   the pipe: the app never blocks on a reader that is gone.
// - While a capture is set, every byte passing through is copied (never teed), so the capture file
//   gets all of it, up to its bound (capture_left): then the capture ends by itself.
// - A relay thread has every signal blocked: signals are Node's.
// - A relay is freed by the last of its thread and its end callback's finalizer (refs, under r->mu);
//   onEnd runs once, on the main thread, unless the environment is torn down first.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_TAILS 64
#define PAGE 4096
#define MAX_KEEP (1 << 28)
#define RELAY_PIPE_SIZE (1 << 20)
#define COPY_SIZE (64 * 1024)
// The splice holds the pipe's lock while it copies; shorter holds let the app keep writing meanwhile.
#define SPLICE_CHUNK (64 * 1024)
// A destination short of memory is retried this many times, this far apart, before a chunk is dropped.
#define MEMORY_TRIES 100
#define MEMORY_WAIT_MS 10
// Less than this is copied rather than teed (see tail_write); more fills most of the pages it pins.
#define SMALL (16 * 1024)
// Of each line, at most this many bytes are kept; the rest is counted in a note.
#define LINE_KEEP 4096

typedef struct {
  char *ring;                // the older kept bytes, allocated on first use
  size_t ring_start, ring_len;
  int rfd, wfd;              // the staging pipe: the newer kept bytes, after the ring's
  size_t held;               // bytes in the staging pipe now (only we write or drain it)
  size_t keep;               // at most this many bytes are kept, ring and pipe together
  uint64_t count;            // bytes ever passed through
  size_t line_len;           // bytes of the last line so far (after its last newline), kept or not
  int dropped;               // older kept bytes were dropped for room
  int capture;               // while >= 0, every byte passing through is also written here
  uint64_t capture_left;     // bytes the capture may still take; it ends when none are left
  pthread_mutex_t mu;
} Tail;

enum { MODE_SPLICE, MODE_COPY, MODE_DISCARD };
enum { TEE_REFUSED = -1 };

typedef struct {
  Tail *tail;
  int in;   // read end of the app's pipe
  int out;  // our own dup of the destination, so JS closing or reusing its number cannot hurt
  int mode;
  char *buf;  // COPY_SIZE bytes: for copied chunks and for MODE_COPY
  napi_threadsafe_function tsfn;
  pthread_mutex_t mu;  // orders the end call against the tsfn's finalizer
  int refs;            // the thread and the tsfn finalizer; the last one frees
  int finalized;
} Relay;

// Created on the main thread only; relay threads get their Tail pointer at start.
static Tail *tails[MAX_TAILS];
static int tail_count;
static int devnull = -1;

// Grows a pipe to size, or as near as it may: without CAP_SYS_RESOURCE a pipe stops at
// /proc/sys/fs/pipe-max-size (1 MiB by default). A smaller pipe still works.
static int grow_pipe(int fd, size_t size) {
  if (size > (size_t)INT32_MAX) size = INT32_MAX;
  while (fcntl(fd, F_SETPIPE_SZ, (int)size) < 0 && errno == EPERM && size > 2 * 65536) size /= 2;
  return fcntl(fd, F_GETPIPE_SZ);
}

static void wait_fd(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

// Appends to the ring, dropping its oldest bytes for room. Caller holds t->mu.
static void ring_append(Tail *t, const char *buf, size_t n) {
  if (n == 0) return;
  if (t->ring == NULL && (t->ring = malloc(t->keep)) == NULL) return;  // no memory: the ring keeps nothing
  if (n >= t->keep) {
    t->dropped = t->dropped || t->ring_len > 0 || n > t->keep;
    memcpy(t->ring, buf + n - t->keep, t->keep);
    t->ring_start = 0;
    t->ring_len = t->keep;
    return;
  }
  if (t->ring_len + n > t->keep) {
    size_t drop = t->ring_len + n - t->keep;
    t->ring_start = (t->ring_start + drop) % t->keep;
    t->ring_len -= drop;
    t->dropped = 1;
  }
  size_t at = (t->ring_start + t->ring_len) % t->keep;
  size_t first = t->keep - at < n ? t->keep - at : n;
  memcpy(t->ring + at, buf, first);
  memcpy(t->ring, buf + first, n - first);
  t->ring_len += n;
}

// " ... [N more bytes not kept]" for the current line, longer than LINE_KEEP. Returns its length.
static size_t cut_note(Tail *t, char *note, size_t size) {
  int len = snprintf(note, size, " \xe2\x80\xa6 [%llu more bytes not kept]", (unsigned long long)(t->line_len - LINE_KEEP));
  return len < 0 ? 0 : (size_t)len < size ? (size_t)len : size - 1;
}

// Keeps each line's first LINE_KEEP bytes and notes how many more it had: a line of megabytes (a JSON
// stack trace) takes no more room than that, so the lines before it stay. Caller holds t->mu.
static void keep_lines(Tail *t, const char *buf, size_t n) {
  char note[64];
  while (n > 0) {
    const char *nl = memchr(buf, '\n', n);
    size_t seg = nl ? (size_t)(nl - buf) : n;
    if (t->line_len < LINE_KEEP) ring_append(t, buf, seg < LINE_KEEP - t->line_len ? seg : LINE_KEEP - t->line_len);
    t->line_len += seg;
    if (nl == NULL) return;
    if (t->line_len > LINE_KEEP) ring_append(t, note, cut_note(t, note, sizeof note));
    ring_append(t, "\n", 1);
    t->line_len = 0;
    buf += seg + 1;
    n -= seg + 1;
  }
}

// Reads what the staging pipe holds through the line filter into the ring. Caller holds t->mu.
static void pipe_spill(Tail *t) {
  char chunk[4 * PAGE];
  while (t->held > 0) {
    ssize_t m = read(t->rfd, chunk, t->held < sizeof chunk ? t->held : sizeof chunk);
    if (m < 0 && errno == EINTR) continue;
    if (m <= 0) {
      t->held = 0;  // should not happen: the pipe is ours alone
      return;
    }
    keep_lines(t, chunk, (size_t)m);
    t->held -= (size_t)m;
  }
}

// Ends the capture: its bound is reached, or its file cannot take more. Caller holds t->mu.
static void capture_end(Tail *t) {
  close(t->capture);
  __atomic_store_n(&t->capture, -1, __ATOMIC_RELAXED);
}

// Writes bytes passing through to the capture file, if one is set, up to its bound. Caller holds t->mu.
static void capture_write(Tail *t, const char *buf, size_t n) {
  if (t->capture < 0) return;
  if (n > t->capture_left) n = (size_t)t->capture_left;
  while (n > 0 && t->capture >= 0) {
    ssize_t w = write(t->capture, buf, n);
    if (w > 0) {
      buf += w;
      n -= (size_t)w;
      t->capture_left -= (uint64_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      capture_end(t);  // disk full: the capture ends short
    }
  }
  if (t->capture >= 0 && t->capture_left == 0) capture_end(t);
}

static int capturing(Tail *t) {
  return __atomic_load_n(&t->capture, __ATOMIC_RELAXED) >= 0;
}

// Tees up to want bytes from the head of in into the staging pipe and keeps them, read from there
// through the line filter. Called with data in the pipe. Returns bytes teed, or TEE_REFUSED when none
// were: the end of input is told by read() and poll(), never by a tee.
static ssize_t tail_tee(Tail *t, int in, size_t want) {
  ssize_t n;
  pthread_mutex_lock(&t->mu);
  do {
    n = tee(in, t->wfd, want, SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    n = TEE_REFUSED;
  } else {
    t->held += (size_t)n;
    t->count += (uint64_t)n;
    pipe_spill(t);
  }
  pthread_mutex_unlock(&t->mu);
  return n;
}

// Keeps bytes already read from the app's pipe (and captures them).
static void tail_write(Tail *t, const char *buf, size_t n) {
  pthread_mutex_lock(&t->mu);
  t->count += n;
  capture_write(t, buf, n);
  keep_lines(t, buf, n);
  pthread_mutex_unlock(&t->mu);
}

// Writes bytes already taken from the app's pipe to the destination; dropped if it is gone. A lack of
// memory passes: retried for about a second, then this chunk alone is dropped.
static void write_out(Relay *r, const char *buf, size_t n) {
  int short_of_memory = 0;
  while (n > 0 && r->mode != MODE_DISCARD) {
    ssize_t w = write(r->out, buf, n);
    if (w > 0) {
      buf += w;
      n -= (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && errno == EAGAIN) {
      wait_fd(r->out, POLLOUT);
    } else if (w < 0 && (errno == ENOMEM || errno == ENOBUFS)) {
      if (++short_of_memory > MEMORY_TRIES) return;
      poll(NULL, 0, MEMORY_WAIT_MS);
    } else {
      r->mode = MODE_DISCARD;
    }
  }
}

// Moves up to n bytes by read()+write(), for destinations splice refuses. Returns bytes consumed.
static ssize_t copy_some(Relay *r, size_t n) {
  ssize_t got;
  do {
    got = read(r->in, r->buf, n < COPY_SIZE ? n : COPY_SIZE);
  } while (got < 0 && errno == EINTR);
  if (got > 0) write_out(r, r->buf, (size_t)got);
  return got;
}

// Consumes up to n bytes without a destination, so the app never blocks on us.
static ssize_t discard_some(Relay *r, size_t n) {
  char sink[PAGE];
  ssize_t m;
  do {
    m = splice(r->in, NULL, devnull, NULL, n, 0);
  } while (m < 0 && errno == EINTR);
  if (m >= 0) return m;
  do {
    m = read(r->in, sink, n < sizeof sink ? n : sizeof sink);
  } while (m < 0 && errno == EINTR);
  return m;
}

// One step of moving at most n bytes from the app's pipe to the destination. Returns bytes consumed.
static ssize_t move_some(Relay *r, size_t n) {
  for (;;) {
    if (r->mode == MODE_COPY) return copy_some(r, n);
    if (r->mode == MODE_DISCARD) return discard_some(r, n);
    ssize_t m = splice(r->in, NULL, r->out, NULL, n < SPLICE_CHUNK ? n : SPLICE_CHUNK, SPLICE_F_MOVE);
    if (m >= 0) return m;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      wait_fd(r->out, POLLOUT);  // a non-blocking destination: block here, as a direct write would
    } else if (errno == ENOMEM || errno == ENOBUFS) {
      return copy_some(r, n);  // passing: this chunk is copied, the next one spliced again
    } else if (errno == EINVAL) {
      r->mode = MODE_COPY;  // not spliceable (O_APPEND, some devices)
    } else {
      r->mode = MODE_DISCARD;  // the destination is gone (EPIPE, EBADF, ...): keep the app unblocked
    }
  }
}

// Moves exactly n bytes, already in the pipe, so the destination gets what the tail got.
static void pass(Relay *r, size_t n) {
  while (n > 0) {
    ssize_t m = move_some(r, n);
    if (m <= 0) return;  // the bytes vanished; cannot happen with a single reader
    n -= (size_t)m;
  }
}

static void relay_free(Relay *r) {
  pthread_mutex_destroy(&r->mu);
  free(r->buf);
  free(r);
}

static void relay_unref(Relay *r) {
  int last = --r->refs == 0;
  pthread_mutex_unlock(&r->mu);
  if (last) relay_free(r);
}

static void *relay_main(void *arg) {
  Relay *r = arg;
  Tail *t = r->tail;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  struct pollfd p = {.fd = r->in, .events = POLLIN};
  for (;;) {
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int avail = 0;
    if (ioctl(r->in, FIONREAD, &avail) < 0) break;
    if (avail <= 0) {
      // a tee now could not tell the end from a full tail, so ask poll
      if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) break;
      continue;
    }
    ssize_t n = 0;
    if (avail >= SMALL && !capturing(t)) {
      n = tail_tee(t, r->in, (size_t)avail);
      if (n > 0) pass(r, (size_t)n);
    }
    if (n <= 0) {
      // a few bytes, a capture, or a staging pipe that takes nothing: copied, so nothing is lost
      ssize_t got = read(r->in, r->buf, (size_t)avail < COPY_SIZE ? (size_t)avail : COPY_SIZE);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      tail_write(t, r->buf, (size_t)got);
      write_out(r, r->buf, (size_t)got);
    }
  }
  close(r->in);
  close(r->out);
  pthread_mutex_lock(&r->mu);
  if (!r->finalized) {
    napi_call_threadsafe_function(r->tsfn, NULL, napi_tsfn_blocking);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  }
  relay_unref(r);
  return NULL;
}

// Runs when the tsfn is released and drained, or when the environment is torn down first.
static void relay_finalize(napi_env env, void *data, void *hint) {
  Relay *r = data;
  (void)env;
  (void)hint;
  pthread_mutex_lock(&r->mu);
  r->finalized = 1;
  relay_unref(r);
}

static void relay_call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  napi_value undefined, error;
  (void)context;
  (void)data;
  if (env == NULL || js_cb == NULL) return;
  napi_get_undefined(env, &undefined);
  if (napi_call_function(env, undefined, js_cb, 0, NULL, NULL) == napi_pending_exception) {
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);  // an onEnd that throws is an uncaught exception, as in JS
  }
}

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
}

// Reads an integer argument in [min, max]; false (with a TypeError thrown) otherwise.
static int int_arg(napi_env env, napi_value v, double min, double max, const char *msg, int64_t *out) {
  napi_valuetype type;
  double d;
  if (v == NULL || napi_typeof(env, v, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok || d != floor(d) || d < min || d > max) {
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

static Tail *tail_arg(napi_env env, napi_value v, const char *msg) {
  int64_t id;
  if (!int_arg(env, v, 0, MAX_TAILS - 1, msg, &id)) return NULL;
  if (id >= tail_count) {
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  return tails[id];
}

// The tail named by a call's one argument; NULL (with a TypeError thrown) otherwise.
static Tail *only_tail_arg(napi_env env, napi_callback_info info, const char *msg) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return tail_arg(env, argv[0], msg);
}

// tailOpen(keepBytes) -> tail id.
static napi_value TailOpen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL}, result;
  int64_t keep;
  int fds[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!int_arg(env, argv[0], 1, MAX_KEEP, "tailOpen(keepBytes): keepBytes must be an integer from 1 to 2^28", &keep))
    return NULL;
  if (tail_count == MAX_TAILS) {
    napi_throw_range_error(env, NULL, "tailOpen: too many tails");
    return NULL;
  }
  if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
    throw_errno(env, "tailOpen: open /dev/null", errno);
    return NULL;
  }
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
    throw_errno(env, "tailOpen: pipe2", errno);
    return NULL;
  }
  Tail *t = calloc(1, sizeof *t);
  if (t == NULL) {
    close(fds[0]);
    close(fds[1]);
    napi_throw_error(env, NULL, "tailOpen: out of memory");
    return NULL;
  }
  // Teed chunks start and end mid-page: twice what is kept lets a tee fit beside the kept bytes. Where
  // the pipe may not grow that far (no CAP_SYS_RESOURCE past pipe-max-size), the ring takes the rest.
  grow_pipe(fds[1], 2 * (size_t)keep > 65536 ? 2 * (size_t)keep : 65536);
  t->rfd = fds[0];
  t->wfd = fds[1];
  t->keep = (size_t)keep;
  t->capture = -1;
  pthread_mutex_init(&t->mu, NULL);
  tails[tail_count] = t;
  napi_create_int32(env, tail_count++, &result);
  return result;
}

// tailRead(id) -> Buffer of the kept bytes, oldest first; they stay kept.
static napi_value TailRead(napi_env env, napi_callback_info info) {
  napi_value result;
  void *data;
  Tail *t = only_tail_arg(env, info, "tailRead(id): id must be a tail from tailOpen");
  if (t == NULL) return NULL;
  char note[64];
  pthread_mutex_lock(&t->mu);
  size_t note_len = t->line_len > LINE_KEEP ? cut_note(t, note, sizeof note) : 0;  // the last line, cut so far
  napi_status made = napi_create_buffer(env, t->ring_len + note_len, &data, &result);
  if (made == napi_ok && t->ring_len > 0) {
    size_t first = t->keep - t->ring_start < t->ring_len ? t->keep - t->ring_start : t->ring_len;
    memcpy(data, t->ring + t->ring_start, first);
    memcpy((char *)data + first, t->ring, t->ring_len - first);
  }
  if (made == napi_ok) memcpy((char *)data + t->ring_len, note, note_len);
  pthread_mutex_unlock(&t->mu);
  return made == napi_ok ? result : NULL;
}

// tailDropped(id) -> whether older kept bytes were dropped for room (the oldest kept line may be cut).
static napi_value TailDropped(napi_env env, napi_callback_info info) {
  napi_value result;
  Tail *t = only_tail_arg(env, info, "tailDropped(id): id must be a tail from tailOpen");
  if (t == NULL) return NULL;
  pthread_mutex_lock(&t->mu);
  int dropped = t->dropped;
  pthread_mutex_unlock(&t->mu);
  napi_get_boolean(env, dropped != 0, &result);
  return result;
}

// tailCapture(id, fd, maxBytes): from now on every byte passing through is also written to fd
// (duplicated), until maxBytes were; fd -1 ends the capture. Bytes already kept are not written.
static napi_value TailCapture(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  int64_t fd, max = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Tail *t = tail_arg(env, argv[0], "tailCapture(id, fd): id must be a tail from tailOpen");
  if (t == NULL) return NULL;
  if (!int_arg(env, argv[1], -1, INT32_MAX, "tailCapture(id, fd, maxBytes): fd must be a file descriptor or -1", &fd)) return NULL;
  if (fd >= 0 && !int_arg(env, argv[2], 1, 9007199254740991.0, "tailCapture(id, fd, maxBytes): maxBytes must be a positive integer", &max))
    return NULL;
  int dup = -1;
  if (fd >= 0 && (dup = fcntl((int)fd, F_DUPFD_CLOEXEC, 3)) < 0) {
    throw_errno(env, "tailCapture: fd", errno);
    return NULL;
  }
  pthread_mutex_lock(&t->mu);
  if (t->capture >= 0) close(t->capture);
  t->capture_left = (uint64_t)max;
  __atomic_store_n(&t->capture, dup, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

// tailWrite(id, buffer): keeps (and captures) bytes read in JS, as if they had passed through a relay.
static napi_value TailWrite(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2] = {NULL, NULL};
  void *data = NULL;
  bool is_buffer = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Tail *t = tail_arg(env, argv[0], "tailWrite(id, buffer): id must be a tail from tailOpen");
  if (t == NULL) return NULL;
  if (argv[1] == NULL || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "tailWrite(id, buffer): buffer must be a Buffer");
    return NULL;
  }
  if (len > 0) tail_write(t, data, len);
  return NULL;
}

// tailCount(id) -> bytes ever passed through the tail.
static napi_value TailCount(napi_env env, napi_callback_info info) {
  napi_value result;
  Tail *t = only_tail_arg(env, info, "tailCount(id): id must be a tail from tailOpen");
  if (t == NULL) return NULL;
  pthread_mutex_lock(&t->mu);
  uint64_t count = t->count;
  pthread_mutex_unlock(&t->mu);
  napi_create_double(env, (double)count, &result);
  return result;
}

// relayStart(tailId, outFd, onEnd) -> the write fd to give the child; the caller closes it after spawning.
static napi_value RelayStart(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL}, result, name;
  napi_valuetype type;
  int64_t out_fd;
  int fds[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Tail *t = tail_arg(env, argv[0], "relayStart(tailId, outFd, onEnd): tailId must be a tail from tailOpen");
  if (t == NULL) return NULL;
  if (!int_arg(env, argv[1], 0, INT32_MAX, "relayStart(tailId, outFd, onEnd): outFd must be a file descriptor", &out_fd))
    return NULL;
  if (argv[2] == NULL || napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "relayStart(tailId, outFd, onEnd): onEnd must be a function");
    return NULL;
  }
  Relay *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, NULL, "relayStart: out of memory");
    return NULL;
  }
  r->tail = t;
  r->mode = MODE_SPLICE;
  if ((r->buf = malloc(COPY_SIZE)) == NULL) {
    napi_throw_error(env, NULL, "relayStart: out of memory");
    free(r);
    return NULL;
  }
  if ((r->out = fcntl((int)out_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
    throw_errno(env, "relayStart: outFd", errno);
    free(r->buf);
    free(r);
    return NULL;
  }
  if (pipe2(fds, O_CLOEXEC) < 0) {
    throw_errno(env, "relayStart: pipe2", errno);
    close(r->out);
    free(r->buf);
    free(r);
    return NULL;
  }
  grow_pipe(fds[1], RELAY_PIPE_SIZE);
  r->in = fds[0];
  pthread_mutex_init(&r->mu, NULL);
  r->refs = 1;  // the finalizer's
  napi_create_string_utf8(env, "relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, r, relay_finalize, NULL, relay_call_js,
                                      &r->tsfn) != napi_ok) {
    close(fds[0]);
    close(fds[1]);
    close(r->out);
    relay_free(r);
    napi_throw_error(env, NULL, "relayStart: cannot create the end callback");
    return NULL;
  }
  // The thread starts with every signal blocked, so none is ever delivered to it.
  sigset_t all, old;
  pthread_attr_t attr;
  pthread_t thread;
  sigfillset(&all);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r->refs++;  // the thread's
  int err = pthread_create(&thread, &attr, relay_main, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    r->refs--;
    close(fds[0]);
    close(fds[1]);
    close(r->out);
    r->in = r->out = -1;
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);  // the finalizer frees r
    throw_errno(env, "relayStart: pthread_create", err);
    return NULL;
  }
  napi_create_int32(env, fds[1], &result);
  return result;
}

void RelayInit(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tailOpen", NULL, TailOpen, NULL, NULL, NULL, napi_default, NULL},
      {"tailRead", NULL, TailRead, NULL, NULL, NULL, napi_default, NULL},
      {"tailWrite", NULL, TailWrite, NULL, NULL, NULL, napi_default, NULL},
      {"tailCount", NULL, TailCount, NULL, NULL, NULL, napi_default, NULL},
      {"tailDropped", NULL, TailDropped, NULL, NULL, NULL, napi_default, NULL},
      {"tailCapture", NULL, TailCapture, NULL, NULL, NULL, napi_default, NULL},
      {"relayStart", NULL, RelayStart, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
