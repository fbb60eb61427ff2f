// nile's one native module: the system calls Node does not offer. waitpid() of one pid and becoming
// a child subreaper for PID 1; pipe2(), mkfifo() and flock() for runit's supervise directories; the
// signal mask Node leaves blocked; the output tail and relay live in relay.c. Reaping one pid at a
// time (never waitpid(-1)) leaves the children Node spawned to libuv.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay.h"

// reap(pid) -> null while the child runs (or is not ours), else {pid, code, signal}.
static napi_value Reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, value;
  int32_t pid = 0;
  int status = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap(pid): pid must be a positive integer");
    return NULL;
  }
  pid_t got;
  do {
    got = waitpid(pid, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    napi_get_null(env, &result);
    return result;
  }
  napi_create_object(env, &result);
  napi_create_int32(env, got, &value);
  napi_set_named_property(env, result, "pid", value);
  if (WIFEXITED(status)) napi_create_int32(env, WEXITSTATUS(status), &value);
  else napi_get_null(env, &value);
  napi_set_named_property(env, result, "code", value);
  if (WIFSIGNALED(status)) napi_create_int32(env, WTERMSIG(status), &value);
  else napi_get_null(env, &value);
  napi_set_named_property(env, result, "signal", value);
  return result;
}

// subreaper() -> true when orphans of our descendants will be re-parented to us.
static napi_value Subreaper(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result);
  return result;
}

// Throws an Error whose code is the errno's name, as Node's own fs errors carry it.
static void throw_errno(napi_env env, const char *call, int err) {
  char message[256];
  const char *name = strerrorname_np(err);
  snprintf(message, sizeof message, "%s: %s", call, strerror(err));
  napi_throw_error(env, name ? name : "EUNKNOWN", message);
}

// flock(fd) -> true when locked, false when another open file description holds it (runsv's
// non-blocking exclusive lock on supervise/lock).
static napi_value Flock(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "flock(fd): fd must be a descriptor");
    return NULL;
  }
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EWOULDBLOCK) {
    throw_errno(env, "flock", errno);
    return NULL;
  }
  napi_get_boolean(env, rc == 0, &result);
  return result;
}

// mkfifo(path, mode): mkfifo(3); throws EEXIST and the like.
static napi_value Mkfifo(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  char path[4096];
  uint32_t mode = 0600;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1 ||
      napi_get_value_uint32(env, argv[1], &mode) != napi_ok) {
    napi_throw_type_error(env, NULL, "mkfifo(path, mode): a path and a mode");
    return NULL;
  }
  if (mkfifo(path, (mode_t)mode) < 0) throw_errno(env, "mkfifo", errno);
  return NULL;
}

// pipe() -> [readFd, writeFd]: blocking, close-on-exec (a child gets its end through spawn's stdio).
static napi_value Pipe(napi_env env, napi_callback_info info) {
  napi_value result, value;
  int fds[2];
  (void)info;
  if (pipe2(fds, O_CLOEXEC) < 0) {
    throw_errno(env, "pipe2", errno);
    return NULL;
  }
  napi_create_array_with_length(env, 2, &result);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_int32(env, fds[i], &value);
    napi_set_element(env, result, i, value);
  }
  return result;
}

// unblockSignals(): the signals nile forwards, unblocked on this (the main) thread. Node started
// with --disable-sigusr1 leaves SIGUSR1 blocked from its start: one sent meanwhile is delivered now.
static napi_value UnblockSignals(napi_env env, napi_callback_info info) {
  static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  sigset_t set;
  (void)info;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&set, forwarded[i]);
  int err = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  if (err) throw_errno(env, "pthread_sigmask", err);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"reap", NULL, Reap, NULL, NULL, NULL, napi_default, NULL},
      {"subreaper", NULL, Subreaper, NULL, NULL, NULL, napi_default, NULL},
      {"pipe", NULL, Pipe, NULL, NULL, NULL, napi_default, NULL},
      {"mkfifo", NULL, Mkfifo, NULL, NULL, NULL, napi_default, NULL},
      {"flock", NULL, Flock, NULL, NULL, NULL, napi_default, NULL},
      {"unblockSignals", NULL, UnblockSignals, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  RelayInit(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
