#!/usr/bin/env node
'use strict';
// probe, prestop and status go straight to their CommonJS client; everything else to the ESM main.
const argv = process.argv.slice(2);
const fast = require('../dist/src/cli/fast.cjs');
if (fast.isFast(argv[0], argv)) fast.runFast(argv[0], argv.slice(1));
else import('../dist/src/main.js');
