// bin/code-cache.ts: the bundle loaded through V8's code cache behaves as under require, and a cache
// made from another file is never used (V8 checks only the source's length).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireWithCodeCache, writeCodeCache } from '../../../bin/code-cache.js';

let dir: string;
let file: string;
const moduleText = (answer: string): string =>
  [
    `exports.answer = ${JSON.stringify(answer)};`,
    'exports.where = () => [__filename, __dirname];',
    "exports.builtin = () => require('node:path').sep;",
    // The bundle's import() goes through the host's (see scripts/bundle.mjs).
    'exports.load = (url) => __ctrHostImport(url);',
  ].join('\n');

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-cc-'));
  file = path.join(dir, 'cli.js');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

type Mod = { answer: string; where: () => string[]; builtin: () => string; load: (url: string) => Promise<{ value: number }> };

describe('code cache of the bundle', () => {
  it('runs the file as CommonJS with and without its cache, import() included', async () => {
    writeFileSync(file, moduleText('one'));
    writeFileSync(path.join(dir, 'plugin.mjs'), 'export const value = 42;\n');
    const plain = requireWithCodeCache(file) as Mod;
    expect(plain.answer).toBe('one');
    const bytes = await writeCodeCache(file, (m) => {
      (m as Mod).where();
      return Promise.resolve();
    });
    expect(bytes).toBeGreaterThan(0);
    expect(readFileSync(path.join(dir, 'cli.cache')).length).toBe(bytes + 32);
    const cached = requireWithCodeCache(file) as Mod;
    expect(cached.answer).toBe('one');
    expect(cached.where()).toEqual([file, dir]);
    expect(cached.builtin()).toBe('/');
    expect((await cached.load(new URL('plugin.mjs', `file://${dir}/`).href)).value).toBe(42);
  });

  it('does not offer a cache made from another file of the same length', async () => {
    writeFileSync(file, moduleText('one'));
    await writeCodeCache(file, () => Promise.resolve());
    // Same length, other code: V8 alone would take the old bytecode.
    writeFileSync(file, moduleText('two'));
    expect((requireWithCodeCache(file) as Mod).answer).toBe('two');
  });

  it('loads without a cache file, and with a truncated one', () => {
    writeFileSync(file, moduleText('three'));
    expect((requireWithCodeCache(file) as Mod).answer).toBe('three');
    writeFileSync(path.join(dir, 'cli.cache'), Buffer.alloc(10));
    expect((requireWithCodeCache(file) as Mod).answer).toBe('three');
  });
});
