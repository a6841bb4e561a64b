// V8's code cache of the bundled CLI (dist/bundle/cli.js), for Node 20, which keeps no compiled
// code between runs (Node 22.1+ has module.enableCompileCache, used instead). The build makes the
// cache (scripts/bundle.mjs → writeCodeCache) and ships it beside cli.js as cli.cache: the SHA-256
// of the cli.js it was made from, then V8's data. The bin compiles cli.js with it; V8 itself
// rejects data of another V8 version or other V8 flags, and a cache of another cli.js is never
// offered (the digest). About 11 ms of compiling at every start, and the functions a run compiles lazily.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script, constants } from 'node:vm';

/**
 * The CommonJS wrapper, as Node's loader makes it, plus `__ctrHostImport`: the bundle's import()
 * (plugins) made here, outside the cached code, whose own import() has no loader on Node 20.
 */
const wrap = (source: string): string => `(function (exports, require, module, __filename, __dirname, __ctrHostImport) { ${source}\n});`;
const hostImport = (specifier: string): Promise<unknown> => import(specifier);

/** cli.cache beside cli.js. */
const cacheFileOf = (file: string): string => file.replace(/\.js$/, '.cache');

function compile(file: string, source: Buffer, cachedData: Buffer | undefined): Script {
  return new Script(wrap(source.toString('utf8')), {
    filename: file,
    cachedData,
    // Plugins are ESM modules loaded with import(): the main context's loader, as under require.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

function run(script: Script, file: string): unknown {
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  fn.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), hostImport);
  return module.exports;
}

/** The cached data for `source`, when cli.cache was made from this very file; else undefined. */
function cachedDataFor(file: string, source: Buffer): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFileOf(file));
  } catch {
    return undefined;
  }
  const digest = createHash('sha256').update(source).digest();
  return cache.length > digest.length && cache.subarray(0, digest.length).equals(digest) ? cache.subarray(digest.length) : undefined;
}

/** Loads the CommonJS file `file` like require() does, compiled with its code cache when one fits. */
export function requireWithCodeCache(file: string): unknown {
  const source = readFileSync(file);
  return run(compile(file, source, cachedDataFor(file, source)), file);
}

/**
 * Build step: loads `file`, lets `warm` run some of it (the functions it compiles go into the
 * cache too), and writes cli.cache. Run it under the V8 flags the bin starts node with.
 */
export async function writeCodeCache(file: string, warm: (exports: unknown) => Promise<void>): Promise<number> {
  const source = readFileSync(file);
  const script = compile(file, source, undefined);
  await warm(run(script, file));
  const data = script.createCachedData();
  writeFileSync(cacheFileOf(file), Buffer.concat([createHash('sha256').update(source).digest(), data]));
  return data.length;
}
