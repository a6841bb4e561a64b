#!/usr/bin/env node
// Bundles the compiled CLI and the probe child into dist/bundle: one graph of a few files loads far
// faster than ~150 ESM modules plus CommonJS dependencies, which is most of ctr-doctor's start-up.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear old ones so the package ships only this build's.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: { 'ctr-doctor': 'dist/bin/ctr-doctor.js', 'probe-main': 'dist/src/guest/probe-main.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS dependencies call require(); ESM output has none unless we make one.
  banner: { js: "import { createRequire as __ctrRequire } from 'node:module'; const require = __ctrRequire(import.meta.url);" },
  // Less source to parse at every start; identifiers are kept so error messages stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
