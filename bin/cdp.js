#!/usr/bin/env node
// The `cdp` command. Runs the TypeScript sources through tsx so there is no build to forget.
require('./v8-heap');
require('tsx/cjs');
require('../src/cli/main.ts').main(process.argv.slice(2));
