#!/usr/bin/env node
// Writes docs/checks.md from the built registry (run after `npm run build`; `npm run docs` does both).
import { writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const { builtinChecks } = await import(new URL('dist/src/checks/index.js', root).href);
const { checksMarkdown } = await import(new URL('dist/src/docs/checks-markdown.js', root).href);
const out = new URL('docs/checks.md', root);
writeFileSync(out, checksMarkdown(builtinChecks));
console.log(`wrote docs/checks.md (${builtinChecks.length} checks)`);
