#!/usr/bin/env node
// Bundles the compiled CLI and the probe child into dist/bundle, as CommonJS (dist/bundle has its
// own package.json saying so). One CommonJS file per program loads far faster than ~150 ESM
// modules plus CommonJS dependencies, and faster than one ESM file too: node then starts no ESM
// loader at all, and wraps no builtin in an ESM facade. That is most of ctr-doctor's start-up.
// - ctr-doctor.js: the bin, tiny, so that `--version` answers before anything else loads;
// - cli.js: everything else the CLI runs (a lazily imported command is inlined, run on first use);
// - probe-main.js: the probe child started in a guest's network namespace;
// - guest-files-server.js: the child that reads guest files for `check --all` (src/guest/guest-files-client.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Packages whose module body does costly work at load (string-width builds an Intl.Segmenter and
 * compiles Unicode-property regexes: about 30 ms for the copies yargs and cliui import) although
 * only help and tables call them. Imports of these are replaced by a stub that loads the real
 * module on the first call; esbuild then evaluates its body lazily. Each must export functions only.
 */
const LAZY_PACKAGES = ['string-width'];

const lazyPackages = {
  name: 'lazy-packages',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_PACKAGES.join('|')})$`);
    b.onResolve({ filter }, async (args) => {
      // Only ESM imports: a CommonJS require() of the package (cli-table3's) expects the function itself.
      if (args.pluginData?.lazyReal || args.kind !== 'import-statement') return undefined;
      const real = await b.resolve(args.path, {
        resolveDir: args.resolveDir,
        kind: args.kind,
        importer: args.importer,
        pluginData: { lazyReal: true },
      });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-stub' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-stub' }, async (args) => {
      const mod = await import(args.path);
      const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
      const load = `require(${JSON.stringify(args.path)})`;
      const lines = names.map((n) =>
        n === 'default'
          ? `export default function lazyDefault(...a) { return ${load}.default(...a); }`
          : `export function ${n}(...a) { return ${load}.${n}(...a); }`,
      );
      return { contents: lines.join('\n'), loader: 'js', resolveDir: '.' };
    });
    // The stub's own require of the real file must not be stubbed again.
    b.onResolve({ filter: /.*/, namespace: 'lazy-stub' }, (args) => ({ path: args.path }));
  },
};

/**
 * The CLI's own import() calls (plugins) go through `__ctrImport`: under the code cache (see
 * bin/code-cache.ts) a deserialised function's import() has no loader on Node 20 ("A dynamic
 * import callback was not specified"), so the bin hands one in from outside the cached code.
 * Under a plain require (Node 22+) it is import() itself.
 */
const HOST_IMPORT = 'const __ctrImport = typeof __ctrHostImport === "function" ? __ctrHostImport : (s) => import(s);';
const hostImport = {
  name: 'host-import',
  setup(b) {
    b.onLoad({ filter: /\/dist\/src\/.*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      // A dynamic import() of a computed specifier (static ones are bundled); not `import()` in a comment.
      const replaced = text.replace(/(?<![\w$.])import\((?!\s*['"`)])/g, '__ctrImport(');
      return replaced === text ? undefined : { contents: replaced, loader: 'js' };
    });
  },
};

await Promise.all([
  build({
    ...common,
    entryPoints: { 'ctr-doctor': 'dist/bin/ctr-doctor.js' },
    define: { ...common.define, CTR_DOCTOR_BUNDLE: 'true' },
    plugins: [cliExternal],
  }),
  build({
    ...common,
    entryPoints: { cli: 'dist/src/cli/main.js' },
    banner: { js: `${common.banner.js}\n${HOST_IMPORT}` },
    plugins: [lazyPackages, hostImport],
  }),
  build({ ...common, entryPoints: { 'probe-main': 'dist/src/guest/probe-main.js' }, plugins: [lazyPackages] }),
  build({ ...common, entryPoints: { 'guest-files-server': 'dist/src/guest/guest-files-server.js' } }),
]);

// The bin starts node with V8 flags of its own, which a `#!/usr/bin/env node` line cannot pass
// (`env -S` is not everywhere, busybox's has none): its first lines are both a shell script that
// execs node with them and, to node (which skips the #! line), a string and a comment. The flag:
// V8's young generation grows to 2×16 MiB semi-spaces under `check --all`'s many short-lived
// objects, a third of the CLI's peak RSS; 4 MiB ones cost no measurable CPU (bench/scale.mjs).
// `node dist/bundle/ctr-doctor.js` still works, with V8's defaults.
const BIN = 'dist/bundle/ctr-doctor.js';
const NODE_FLAGS = '--max-semi-space-size=4';
const bin = readFileSync(BIN, 'utf8');
if (!bin.startsWith('#!/usr/bin/env node\n')) throw new Error(`${BIN} does not start with the expected #! line`);
// Two malloc arenas, not one per thread (8 × cores by default): the libuv pool and the host-scan
// thread otherwise each grow an arena of their own, about 3-4 MB of `check --all`'s peak RSS over 48
// guests (bench/scale.mjs). A MALLOC_ARENA_MAX of the user's own is kept. Our children get fixed
// environments, so it reaches no other program.
const SHELL_LINE = `':' //; export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX:-2}"; exec node ${NODE_FLAGS} "$0" "$@"`;
writeFileSync(BIN, `#!/bin/sh\n${SHELL_LINE}\n${bin.slice(bin.indexOf('\n') + 1)}`);

// V8's code cache of cli.js (bin/code-cache.ts), made by this node under the bin's flags (V8
// refuses data made under other flags). Warmed by `checks --json`: the option parsing and every
// check module's loading go into it too. Node 22.1+ does not use it (its own compile cache does).
const warm = `
// The bin's runtime V8 flag (bin/ctr-doctor.ts), set before cli.js is compiled, as there.
(await import('node:v8')).setFlagsFromString('--no-turbofan');
const { writeCodeCache } = await import(${JSON.stringify(new URL('../dist/bin/code-cache.js', import.meta.url).href)});
const sink = { write: () => true };
const io = { out: sink, err: sink, env: {}, isTty: false, stdinIsTty: false, width: 80, color: () => false };
const bytes = await writeCodeCache(${JSON.stringify(new URL('../dist/bundle/cli.js', import.meta.url).pathname)}, async (cli) => {
  await cli.main(['checks', '--json'], io);
});
process.stdout.write(String(bytes));
process.exit(0);
`;
const made = spawnSync(process.execPath, [...NODE_FLAGS.split(' '), '--input-type=module', '-e', warm], {
  encoding: 'utf8',
  env: { PATH: process.env.PATH },
});
if (made.status !== 0) throw new Error(`the code cache of cli.js could not be made: ${made.stderr}`);
