import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCheck, type Check, type CheckSpec } from './check.js';
import { enforceDeclarations } from './conformance.js';

/**
 * A plugin module: `export const checks = [...]`, or a default export that is a checks array or
 * an object with `checks`. A plugin's fixes are returned by its checks' `offer()` (or `run()`),
 * so they go through the engine, the journal and undo like the built-in ones.
 */
export interface PluginModule {
  checks?: Check[];
  /** Removed: loading a plugin that still exports it fails with a one-line error. */
  fixes?: unknown;
  default?: { checks?: Check[]; fixes?: unknown } | Check[];
}

/** The one line a plugin that still exports `fixes` gets. */
export const REMOVED_FIXES_EXPORT = "plugin fixes are returned by a check's offer(); the separate `fixes` export was removed";

/** A plugin that could not be loaded, named with what is wrong (one line). */
export interface PluginProblem {
  plugin: string;
  message: string;
}

/** What loading gave: the checks of every good plugin, and one problem per broken one. */
export interface LoadedPlugins {
  checks: Check[];
  problems: PluginProblem[];
}

const ID = /^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$/;

/** Thrown for a plugin that loads but is not a valid plugin. */
class PluginShapeError extends Error {}

/**
 * A path when it looks like one (relative to `cwd`); otherwise a package name resolved from
 * ctr-doctor's own installation, never from the working directory: run as root from /tmp, a bare
 * `--plugin NAME` must not load whatever some user put in /tmp/node_modules (L4).
 */
function moduleUrl(spec: string, cwd: string): string {
  const isPath = spec.startsWith('.') || spec.startsWith('/') || /\.(m?js|cjs)$/.test(spec);
  if (isPath) return pathToFileURL(path.resolve(cwd, spec)).href;
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve(spec)).href;
  } catch {
    return spec; // an ESM-only package: import() resolves it from ctr-doctor's own location too
  }
}

/** The problems of one exported check, or null when it is a valid check. */
function checkProblem(value: unknown, index: number): string | null {
  const c = value as Partial<Check> | null;
  if (!c || typeof c !== 'object') return `checks[${index}] is not an object (use defineCheck({...}))`;
  const name = typeof c.id === 'string' ? `check ${c.id}` : `checks[${index}]`;
  if (typeof c.id !== 'string' || !ID.test(c.id)) return `${name} needs an id of the form group.name in lower-case kebab-case`;
  if (c.id.split('.')[0] !== c.group) return `check id ${c.id} does not start with its group "${String(c.group)}."`;
  if (typeof c.title !== 'string' || !c.title) return `${name} has no title`;
  const shaped = c as Partial<CheckSpec<never, never, unknown>>;
  const composable = typeof shaped.gather === 'function' && typeof shaped.judge === 'function';
  if (typeof c.appliesTo !== 'function' || (typeof c.run !== 'function' && !composable))
    return `${name} needs appliesTo(ctx) and run(ctx) functions, or appliesTo(ctx), gather(ctx) and judge(facts)`;
  if (!c.findings || typeof c.findings !== 'object') return `${name} does not declare its finding codes in \`findings\``;
  return null;
}

/** The checks a module exports, validated; throws a PluginShapeError naming what is wrong. */
function checksOf(mod: PluginModule, taken: ReadonlySet<string>): Check[] {
  const def = mod.default;
  // The `fixes` export was validated and then dropped; failing loudly beats silently ignoring it.
  if (mod.fixes !== undefined || (!Array.isArray(def) && def?.fixes !== undefined)) throw new PluginShapeError(REMOVED_FIXES_EXPORT);
  const exported: unknown = mod.checks ?? (Array.isArray(def) ? def : def?.checks);
  if (exported === undefined) throw new PluginShapeError('exports no `checks` (write `export const checks = [defineCheck({...})]`)');
  if (!Array.isArray(exported)) throw new PluginShapeError('exports `checks` that is not an array');
  if (exported.length === 0) throw new PluginShapeError('exports an empty `checks` array');
  const own = new Set<string>();
  exported.forEach((value, i) => {
    const problem = checkProblem(value, i);
    if (problem) throw new PluginShapeError(problem);
    const id = (value as Check).id;
    if (taken.has(id) || own.has(id))
      throw new PluginShapeError(`check id ${id} is already taken${own.has(id) ? ' in the same plugin' : ''}`);
    own.add(id);
  });
  // Plain objects in the new shape are composed here; every plugin check is held to its declarations.
  return (exported as (Check | CheckSpec<never, never, unknown>)[]).map((c) => enforceDeclarations('run' in c ? c : defineCheck(c)));
}

/** One line for anything a broken plugin throws. */
function describeLoadError(error: unknown): string {
  if (error instanceof PluginShapeError) return error.message;
  const e = error as NodeJS.ErrnoException | null | undefined;
  if (e?.code === 'ERR_MODULE_NOT_FOUND') return `not found (${(e.message.split('\n')[0] ?? '').replace(/ imported from .*$/, '')})`;
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] || 'failed to load';
  const kind = error instanceof Error && error.name !== 'Error' ? `${error.name}: ` : '';
  return `${kind}${message}`;
}

/**
 * Loads plugins by path or module name. A broken plugin (syntax error, throws on import,
 * exports no checks, an invalid or duplicate check) is left out whole with one problem line;
 * the built-in checks and the other plugins still load.
 */
export async function loadPlugins(specs: string[], known: Check[], cwd = process.cwd()): Promise<LoadedPlugins> {
  const checks: Check[] = [];
  const problems: PluginProblem[] = [];
  const taken = new Set(known.map((c) => c.id));
  for (const spec of specs) {
    try {
      const mod = (await import(moduleUrl(spec, cwd))) as PluginModule;
      const own = checksOf(mod, taken);
      for (const c of own) taken.add(c.id);
      checks.push(...own);
    } catch (error) {
      problems.push({ plugin: spec, message: describeLoadError(error) });
    }
  }
  return { checks, problems };
}
