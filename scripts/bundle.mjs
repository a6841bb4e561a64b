#!/usr/bin/env node
// Bundles the compiled CLI and the probe child into dist/bundle, as CommonJS (dist/bundle has its
// own package.json saying so). One CommonJS file per program loads far faster than ~150 ESM
// modules plus CommonJS dependencies, and faster than one ESM file too: node then starts no ESM
// loader at all, and wraps no builtin in an ESM facade. That is most of ctr-doctor's start-up.
// - ctr-doctor.js: the bin, tiny, so that `--version` answers before anything else loads;
// - cli.js: everything else the CLI runs (a lazily imported command is inlined, run on first use);
// - probe-main.js: the probe child started in a guest's network namespace.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bundle', { recursive: true, force: true });
mkdirSync('dist/bundle', { recursive: true });
writeFileSync('dist/bundle/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);

const common = {
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The sources locate files beside themselves with import.meta.url; CommonJS has __filename.
  define: { 'import.meta.url': '__ctrModuleUrl' },
  banner: { js: "const __ctrModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Less source to parse at every start; identifiers are kept so error messages stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

/** The bin requires cli.js at run time; its unbundled import (for dist/bin) is left alone. */
const cliExternal = {
  name: 'cli-external',
  setup(b) {
    b.onResolve({ filter: /\/cli\/main\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

await Promise.all([
  build({
    ...common,
    entryPoints: { 'ctr-doctor': 'dist/bin/ctr-doctor.js' },
    define: { ...common.define, CTR_DOCTOR_BUNDLE: 'true' },
    plugins: [cliExternal],
  }),
  build({ ...common, entryPoints: { cli: 'dist/src/cli/main.js', 'probe-main': 'dist/src/guest/probe-main.js' } }),
]);
