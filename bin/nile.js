#!/usr/bin/env node
'use strict';
// First, before any module: a SIGUSR1 listener keeps Node from opening its inspector on SIGUSR1.
process.on('SIGUSR1', () => {});
// The image carries V8's code for nile's modules, made when it was built (image/Dockerfile): the start
// compiles nothing again, and finding every entry there, Node has nothing to write on a read-only root.
const compileCache = require('node:path').join(__dirname, '..', 'compile-cache');
if (require('node:fs').existsSync(compileCache)) require('node:module').enableCompileCache?.(compileCache);
// The front door kept the pod's NODE_OPTIONS from nile's own Node: it is the app's (native/nile.c).
if (process.env.NILE_NODE_OPTIONS !== undefined) process.env.NODE_OPTIONS = process.env.NILE_NODE_OPTIONS;
delete process.env.NILE_NODE_OPTIONS;
// probe, prestop and status go straight to their CommonJS client; everything else to the ESM main,
// bundled into one file by `npm run build`.
const argv = process.argv.slice(2);
const fast = require('../dist/src/cli/fast.cjs');
if (fast.isFast(argv[0])) fast.runFast(argv[0], argv.slice(1));
else import('../dist/bundle/main.js').catch((err) => {
  // Built with tsc alone (no bundle): the same code, module by module.
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bundle/main.js')) return import('../dist/src/main.js');
  throw err;
});
