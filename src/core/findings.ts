/**
 * Finding codes declared with their message templates, as ESLint's `meta.messages`: a check
 * reports a code and the data its template names, and only {@link renderMessage} makes text.
 */
import type { Severity } from './types.js';

/** One declared finding code: its fixed severity, its message template, and a line for the docs. */
export interface FindingSpec {
  severity: Severity;
  /** The message, with named placeholders: `{dir} does not exist in the guest`. */
  message: string;
  /** What the code means, for `docs/checks.md` and `explain`. */
  description: string;
}

/** A check's declared codes. */
export type FindingSpecs = Record<string, FindingSpec>;

/** A check's declared fix ids, each with one line of documentation. */
export type FixDocs = Record<string, string>;

/** The placeholder names in a template literal type: `'{a} and {b}'` → `'a' | 'b'`. */
export type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer R}` ? P | Placeholders<R> : never;

/** The data a template needs: one value per placeholder. */
export type MessageData<S extends string> = { [K in Placeholders<S>]: string | number };

/** A finding as a check's `judge` reports it: a declared code, the template's data, the evidence. */
export type Reported<F extends FindingSpecs> = {
  [C in keyof F & string]: {
    code: C;
    data: MessageData<F[C]['message']>;
    evidence?: Record<string, unknown>;
  };
}[keyof F & string];

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The placeholder names of a template, at run time. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/** A template cut at its placeholders: literal text at even indices, placeholder names at odd ones. */
const compiled = new Map<string, readonly string[]>();
/** Templates are declared constants (a few hundred); the bound only keeps a misuse from growing it without end. */
const MAX_COMPILED = 4096;

function partsOf(template: string): readonly string[] {
  let parts = compiled.get(template);
  if (parts === undefined) {
    // split() with the capturing group keeps each name between the literal pieces.
    parts = template.split(PLACEHOLDER);
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(template, parts);
  }
  return parts;
}

/** Fills a template; a placeholder without data is an error (a check's bug, reported as `error`). */
export function renderMessage(template: string, data: Readonly<Record<string, unknown>>): string {
  // Cut once per template, not scanned with a regex at every finding (every check of every guest renders some).
  const parts = partsOf(template);
  let out = parts[0] ?? '';
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    const value = data[name];
    if (value === undefined || value === null) throw new DeclarationError(`no data for {${name}} in "${template}"`);
    out +=
      typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
    out += parts[i + 1] ?? '';
  }
  return out;
}

/** A check broke its own declarations (an undeclared code or fix id, a wrong severity, missing data). */
export class DeclarationError extends Error {
  override readonly name = 'DeclarationError';
}

/**
 * A typed builder for one check's findings, so `judge` reads as sentences:
 * `found('runtime-dir-missing', { dir }, evidence)`.
 */
export function findingBuilder<F extends FindingSpecs>(_specs: F) {
  return <C extends keyof F & string>(
    code: C,
    data: MessageData<F[C]['message']>,
    evidence: Record<string, unknown> = {},
  ): Reported<F> => ({ code, data, evidence });
}
