/**
 * The programs that read ctr-doctor's machine formats, as tests' judges: Prometheus'
 * `promtool check metrics` for the node_exporter textfile, and xmllint against the JUnit XSD
 * that Jenkins' xunit plugin publishes (test/fixtures/junit/). {@link runTool} feeds them every
 * prometheus or junit report an integration test produces.
 */
import { fileURLToPath } from 'node:url';
import { run } from './proc.js';
import { which } from './skip.js';

/** The JUnit XSD of Jenkins' xunit plugin (see test/fixtures/README.md for its source and licence). */
export const JUNIT_XSD = fileURLToPath(new URL('../fixtures/junit/junit-10.xsd', import.meta.url));

/** The machine formats a consumer judges. */
export type ConsumedFormat = 'prometheus' | 'junit';

function tool(name: string, pkg: string): string {
  const path = which(name);
  if (!path) throw new Error(`${name} is missing: install Debian's ${pkg} (it is in scripts/test-packages.txt)`);
  return path;
}

/** What promtool says about a textfile: empty when it parses and passes its lint. */
export async function promtoolProblems(text: string): Promise<string> {
  // promtool exits 1 on a parse error and 3 on a lint problem; both are rejections.
  const r = await run([tool('promtool', 'prometheus'), 'check', 'metrics'], { input: text, timeoutMs: 30_000 });
  if (r.exitCode !== 0) return `promtool check metrics (rc ${r.exitCode}): ${(r.stderr + r.stdout).trim()}`;
  // promtool lets a repeated series through; node_exporter's registry then drops the whole textfile.
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    if (seen.has(series)) return `repeated series (node_exporter rejects the file): ${series}`;
    seen.add(series);
  }
  return '';
}

/** What xmllint says about a JUnit document against the xunit plugin's XSD: empty when it validates. */
export async function junitProblems(xml: string): Promise<string> {
  const r = await run([tool('xmllint', 'libxml2-utils'), '--noout', '--nonet', '--schema', JUNIT_XSD, '-'], {
    input: xml,
    timeoutMs: 30_000,
  });
  return r.exitCode === 0 ? '' : `xmllint --schema junit-10.xsd (rc ${r.exitCode}): ${r.stderr.trim()}`;
}

/** Throw (failing the test) unless the consumer of `format` accepts `text`; `what` names it in the message. */
export async function assertConsumerAccepts(format: ConsumedFormat, text: string, what: string = format): Promise<void> {
  const problems = format === 'prometheus' ? await promtoolProblems(text) : await junitProblems(text);
  if (problems) throw new Error(`${what} is rejected by its consumer: ${problems}\n--- output ---\n${text.slice(0, 4000)}`);
}

/** The consumed format an argv asks for (`--format X` or `--format=X`), or null. */
export function consumedFormatOf(args: string[]): ConsumedFormat | null {
  for (const [i, a] of args.entries()) {
    const value = a === '--format' ? args[i + 1] : a.startsWith('--format=') ? a.slice('--format='.length) : undefined;
    if (value === 'prometheus' || value === 'junit') return value;
  }
  return null;
}

/** The `--output FILE` an argv names, or null. */
export function outputFileOf(args: string[]): string | null {
  for (const [i, a] of args.entries()) {
    if (a === '--output') return args[i + 1] ?? null;
    if (a.startsWith('--output=')) return a.slice('--output='.length);
  }
  return null;
}
