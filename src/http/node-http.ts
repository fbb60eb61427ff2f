import { createRequire } from 'node:module';

// node:http and node:https through require, never as ES modules: Node 22+ builds an ES module's
// namespace from every export, and http's WebSocket getters then load Node's whole fetch stack
// (undici): ~60 ms of CPU on the start path and megabytes of heap the agent never uses.
const require = createRequire(import.meta.url);
export const http = require('node:http') as typeof import('node:http');
/** node:https brings TLS with it (megabytes of RSS): loaded only for an https url. */
export const loadHttps = () => require('node:https') as typeof import('node:https');
