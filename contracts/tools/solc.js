#!/usr/bin/env node
// A `solc` command line around solc-js that forge and py-solc-x can both call.
// The stock `solcjs` CLI truncates --standard-json output at 64 KiB on a pipe
// and prints a banner before the JSON; this one reads stdin, compiles with an
// import callback rooted at --base-path / --include-path, and writes with
// fs.writeSync so the whole output reaches the pipe before exit.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version')) {
  fs.writeSync(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  fs.writeSync(2, 'this solc wrapper only supports --standard-json and --version\n');
  process.exit(1);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--base-path' || args[i] === '--include-path' || args[i] === '--allow-paths') {
    for (const p of String(args[i + 1] || '').split(',')) if (p) roots.push(path.resolve(p));
    i++;
  }
}
roots.push(process.cwd());

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
}

const input = fs.readFileSync(0, 'utf8');
const output = solc.compile(input, { import: findImports });
fs.writeSync(1, output);
