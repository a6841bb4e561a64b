#!/usr/bin/env node
// After tsc and the bundle: make the bins executable (tsc keeps the shebang but not the mode), then the man page.
import { chmodSync, readFileSync } from 'node:fs';

for (const rel of ['../dist/bin/ctr-doctor.js', '../dist/bundle/ctr-doctor.js']) {
  const bin = new URL(rel, import.meta.url);
  if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')) throw new Error(`${rel.slice(3)} lost its shebang`);
  chmodSync(bin, 0o755);
}
await import('./gen-man.mjs');
