// The two system calls Node does not offer: waitpid() of one pid, and becoming a child subreaper.
// Reaping one pid at a time (never waitpid(-1)) leaves the children Node spawned to libuv.
#include <errno.h>
#include <node_api.h>
#include <sys/prctl.h>
#include <sys/wait.h>

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

// setSubreaper() -> true when orphans of our descendants will be re-parented to us.
static napi_value SetSubreaper(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"reap", NULL, Reap, NULL, NULL, NULL, napi_default, NULL},
      {"setSubreaper", NULL, SetSubreaper, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  RelayInit(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
