// The layers of src/, enforced by `npm run lint` (docs/architecture.md draws them).
// Type-only imports count too (tsPreCompilationDeps), so a type cannot smuggle a dependency in.
// A layer may import only itself and the layers listed under `may`; anything else is an error.

/** Each layer: the files it is made of, and the layers it may import. */
const layers = {
  parse: { files: '^src/parse/', may: [] },
  core: { files: '^src/core/', may: ['parse'] },
  // The host's command runner: absolute host programs, a fixed environment. Below guest, which enters guests with host programs.
  'host-exec': { files: '^src/host/(run-command|host-programs|host-spawner|spawner-process)\\.ts$', may: ['core'] },
  guest: { files: '^src/guest/', may: ['core', 'parse', 'host-exec'] },
  host: {
    files: '^src/host/(?!(run-command|host-programs|host-spawner|spawner-process)\\.ts$)',
    may: ['core', 'parse', 'guest', 'host-exec'],
  },
  targets: { files: '^src/targets/', may: ['core', 'parse', 'guest', 'host', 'host-exec'] },
  fixes: { files: '^src/fixes/', may: ['core', 'parse', 'guest'] },
  checks: { files: '^src/checks/', may: ['core', 'parse', 'fixes', 'host'] },
  report: { files: '^src/report/', may: ['core', 'parse', 'fixes'] },
  docs: { files: '^src/docs/', may: ['core', 'report'] },
  demo: { files: '^src/demo/', may: ['core', 'parse', 'guest', 'host', 'host-exec', 'targets', 'fixes'] },
  cli: {
    files: '^src/(cli/|index\\.ts$)',
    may: ['core', 'parse', 'guest', 'host', 'host-exec', 'targets', 'fixes', 'checks', 'report', 'demo', 'docs'],
  },
};

/**
 * Known debts, each with its owner: imports that break a layer today and are being paid off.
 * Add nothing here; remove a line when its import goes.
 */
const debts = [];
// An empty pathNot would match every path and switch the rules off: leave it out when there is no debt.
const exceptDebts = debts.length > 0 ? { pathNot: debts.join('|') } : {};

const names = Object.keys(layers);

const layerRules = names.flatMap((layer) => {
  const forbidden = names.filter((other) => other !== layer && !layers[layer].may.includes(other));
  if (forbidden.length === 0) return [];
  return [
    {
      name: `layer-${layer}`,
      severity: 'error',
      comment: `${layers[layer].files} may import only ${[layer, ...layers[layer].may].join(', ')} (see docs/architecture.md)`,
      from: { path: layers[layer].files, ...exceptDebts },
      to: { path: forbidden.map((other) => `(${layers[other].files})`).join('|') },
    },
  ];
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type imports included: split the shared part into its own module.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'checks-through-the-ports',
      severity: 'error',
      comment: 'A check reaches the host only through ctx.host: of src/host it may use the pure helpers, never the readers.',
      from: { path: '^src/checks/', ...exceptDebts },
      to: {
        path: '^src/host/(host-context|procfs|schroot-state|nspawn-machines|host-dns-query|host-nameservers|run-command|host-programs|host-spawner|spawner-process)\\.ts$',
      },
    },
    {
      name: 'no-io-in-checks-and-plans',
      severity: 'error',
      comment: 'Checks and fix plans do no I/O of their own: the Target and the Host port do it (gather); judge and offer are pure.',
      from: { path: '^src/(checks|fixes/plans)/', ...exceptDebts },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|child_process|net|dgram|dns|os|http|https)$' },
    },
    {
      name: 'library-entry',
      severity: 'error',
      comment: 'The plugin API (src/index.ts) exposes core and parse only.',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/(?!core/|parse/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|bench|dist|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
