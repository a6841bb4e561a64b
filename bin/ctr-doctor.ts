#!/usr/bin/env node
// `--version` alone is answered before anything else is loaded, to keep start-up near `node -e 0`.
// No top-level await: the shipped bin is CommonJS (no ESM loader to start), see scripts/bundle.mjs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';

import { startProcessScan } from '../src/host/proc-scan-worker.js';
import { asksCheckAll, prestartSpawner } from '../src/host/spawner-process.js';
import { requireWithCodeCache } from './code-cache.js';

type Cli = typeof import('../src/cli/main.js');

// A run lasts well under a second or two: TurboFan's compiles (on a background thread, taking the other core
// from the scans and children) cost more CPU than they save (bench/scale.mjs). Set before the CLI is compiled,
// so that the code cache was made under the same flags (scripts/bundle.mjs). Here, not on node's command line:
// a V8 that no longer knows the flag ignores it instead of refusing to start.
setFlagsFromString('--no-turbofan');

/** Commands that never look at the host's processes. */
// `demo` builds its guest after start-up: a scan taken now would not see the guest's process.
const NO_SCAN = new Set([
  'demo',
  '--help',
  '-h',
  'checks',
  'schema',
  'completion',
  'explain',
  'summary',
  'undo',
  '--get-yargs-completions',
  '__yargs-completion',
]);

/** Set to true by scripts/bundle.mjs when it builds dist/bundle/ctr-doctor.js. */
declare const CTR_DOCTOR_BUNDLE: boolean | undefined;

/**
 * In dist/bundle the CLI is one CommonJS file beside this one; in dist/bin, the compiled modules.
 * Node 22.1+ keeps compiled code between runs itself (enableCompileCache); on Node 20 the bundle
 * is compiled with the code cache the build left beside it (bin/code-cache.ts).
 */
async function loadCli(): Promise<Cli> {
  const require = createRequire(import.meta.url);
  const nodeCache = (require('node:module') as { enableCompileCache?: () => unknown }).enableCompileCache;
  nodeCache?.();
  if (typeof CTR_DOCTOR_BUNDLE !== 'undefined' && CTR_DOCTOR_BUNDLE)
    return (nodeCache ? require('./cli.js') : requireWithCodeCache(require.resolve('./cli.js'))) as Cli;
  return import('../src/cli/main.js');
}

async function run(argv: string[]): Promise<void> {
  const { main } = await loadCli();
  process.exitCode = await main(argv);
  // The report is out and our children are reaped (main waits for them): what still holds the event
  // loop (the host-scan thread, a check that timed out) has nothing more to say. Waiting for it to
  // let go cost every run 100 ms; the streams are flushed first (synchronous for files, pipes and
  // terminals on Linux, the callback covers the rest), with the old 100 ms as a last resort.
  setTimeout(() => process.exit(), 100).unref();
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      stream.write('', () => {
        resolve();
      });
    });
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit();
}

if (process.argv.length === 3 && process.argv[2] === '--version') {
  // Both dist/bin and dist/bundle sit two levels below the package root.
  process.stdout.write(
    `${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`,
  );
} else {
  // Commands that open targets need the host's process table: its scan starts on another thread
  // now, while the CLI's modules load (see src/host/proc-scan-worker.ts).
  if (!NO_SCAN.has(process.argv[2] ?? '')) startProcessScan();
  // `check --all` starts its commands in a spawner process (src/host/host-spawner.ts): started now, it boots while the CLI loads.
  if (asksCheckAll(process.argv.slice(2))) prestartSpawner();
  void run(process.argv.slice(2));
}
