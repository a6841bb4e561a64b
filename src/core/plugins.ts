import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Check } from './check.js';

/** A plugin module: `export const checks = [...]`, or a default export with `checks`. */
export interface PluginModule {
  checks?: Check[];
  default?: { checks?: Check[] } | Check[];
}

/** A plugin that could not be loaded, named with what is wrong. */
export interface PluginProblem {
  plugin: string;
  message: string;
}

function isCheck(value: unknown): value is Check {
  const c = value as Partial<Check> | null;
  return !!c && typeof c.id === 'string' && typeof c.group === 'string' && typeof c.run === 'function' && typeof c.appliesTo === 'function';
}

/** Loads plugins by path or module name; a broken one is reported and the others still load. */
export async function loadPlugins(specs: string[], known: Check[]): Promise<{ checks: Check[]; problems: PluginProblem[] }> {
  const checks: Check[] = [];
  const problems: PluginProblem[] = [];
  const taken = new Set(known.map((c) => c.id));
  for (const spec of specs) {
    const isPath = spec.startsWith('.') || spec.startsWith('/');
    try {
      const mod = (await import(isPath ? pathToFileURL(path.resolve(spec)).href : spec)) as PluginModule;
      const exported = mod.checks ?? (Array.isArray(mod.default) ? mod.default : mod.default?.checks);
      if (!Array.isArray(exported)) throw new Error('exports no `checks` array');
      for (const check of exported) {
        if (!isCheck(check)) throw new Error('exports something in `checks` that is not a check (id, group, appliesTo, run)');
        if (taken.has(check.id)) throw new Error(`check id ${check.id} is already taken`);
        if (check.id.split('.')[0] !== check.group) throw new Error(`check id ${check.id} does not start with its group "${check.group}."`);
        taken.add(check.id);
        checks.push(check);
      }
    } catch (error) {
      problems.push({ plugin: spec, message: (error as Error).message.split('\n')[0] ?? 'failed to load' });
    }
  }
  return { checks, problems };
}
