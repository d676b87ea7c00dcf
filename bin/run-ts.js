#!/usr/bin/env node
// Runs a TypeScript entry point through tsx, so `npm start` needs no build step.
require('tsx/cjs');
const path = require('node:path');
const entry = process.argv[2];
process.argv.splice(2, 1);
require(path.resolve(entry));
