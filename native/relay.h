// Output relay: the app's stdout/stderr go to our own fds from a native thread, never through JS.
#ifndef NILE_RELAY_H
#define NILE_RELAY_H

#include <node_api.h>

// Adds tailOpen, tailRead, tailWrite, tailCount, tailCapture and relayStart to the addon's exports.
void RelayInit(napi_env env, napi_value exports);

#endif
