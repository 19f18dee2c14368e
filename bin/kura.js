#!/usr/bin/env node
// The `kura` command: runs the compiled CLI (npm install builds it into dist/).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`kura: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
