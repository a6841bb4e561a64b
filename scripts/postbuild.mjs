#!/usr/bin/env node
// After tsc: make the bin executable (tsc keeps the shebang but not the mode), then the man page.
import { chmodSync, readFileSync } from 'node:fs';

const bin = new URL('../dist/bin/ctr-doctor.js', import.meta.url);
if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')) throw new Error('dist/bin/ctr-doctor.js lost its shebang');
chmodSync(bin, 0o755);
await import('./gen-man.mjs');
