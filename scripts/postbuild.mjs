#!/usr/bin/env node
// After tsc and the bundle: make the bins executable (tsc keeps the shebang but not the mode), then the man page.
import { chmodSync, readFileSync } from 'node:fs';

// dist/bundle's bin starts as a shell script that execs node with V8 flags (see bundle.mjs).
for (const [rel, start] of [
  ['../dist/bin/ctr-doctor.js', '#!/usr/bin/env node\n'],
  ['../dist/bundle/ctr-doctor.js', "#!/bin/sh\n':' //; export MALLOC_ARENA_MAX="],
]) {
  const bin = new URL(rel, import.meta.url);
  if (!readFileSync(bin, 'utf8').startsWith(start)) throw new Error(`${rel.slice(3)} lost its shebang`);
  chmodSync(bin, 0o755);
}
await import('./gen-man.mjs');
