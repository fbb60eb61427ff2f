#!/usr/bin/env node
'use strict';
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
