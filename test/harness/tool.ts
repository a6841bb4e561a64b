/**
 * Run the built ctr-doctor CLI the way integration tests must: always inside a
 * network namespace the test owns, and validate its JSON reports against the
 * schema the CLI itself prints.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { assertConsumerAccepts, consumedFormatOf, outputFileOf } from './consumers.js';
import { run } from './proc.js';

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI entry point; `CTD_CLI_PATH` runs another build (to record what an older ctr-doctor printed). */
export const CLI_PATH = process.env.CTD_CLI_PATH ?? fileURLToPath(new URL('../../dist/bundle/ctr-doctor.js', import.meta.url));

/** Options of {@link runTool}. */
export interface RunToolOptions {
  /** A `/run/netns/…` (or `/proc/PID/ns/net`) path the test owns. Required: the tool never runs in the host netns. */
  netns: string;
  /** Added to the environment (CTR_DOCTOR_* variables are otherwise removed). */
  env?: Record<string, string>;
  input?: string;
  /** Default 60 s. */
  timeoutMs?: number;
  /**
   * Host files as the tool should see them (path → content), bound over the real ones in a
   * private mount namespace of the tool's own: "the host's resolv.conf names 203.0.113.53"
   * without touching the machine's file.
   */
  hostFiles?: Record<string, string>;
  /**
   * Host directories as the tool should see them (existing host dir → a directory of the test's),
   * bound over the real ones in the same private mount namespace: `{'/run/user': dir}` gives the
   * tool a host /run/user/1000 with a PipeWire in it, while the machine's /run/user stays as it is.
   */
  hostDirs?: Record<string, string>;
  /**
   * A mount namespace of the test's (`/proc/PID/ns/mnt` of a holder process) to run the tool in,
   * e.g. one whose /dev shows stand-in device nodes (test/harness/host-dev.ts). The guest's
   * processes started in it too are members of chroot guests, which must share the tool's mount namespace.
   */
  mountNs?: string;
}

/** What the CLI did. */
export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json?: unknown;
}

/** Throw a clear message when `dist/` has not been built. */
export function assertBuilt(): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run npm run build first`);
}

function assertNotHostNetns(netns: string): void {
  if (!netns || !(netns.startsWith('/run/netns/') || /^\/proc\/\d+\/ns\/net$/.test(netns))) {
    throw new Error(`runTool: netns must be a /run/netns/… or /proc/PID/ns/net path, got ${JSON.stringify(netns)}`);
  }
  const ino = statSync(netns).ino;
  // PID 1's namespaces may be unreadable here (no ptrace access to it); our own is the host's anyway.
  const initIno = (() => {
    try {
      return statSync('/proc/1/ns/net').ino;
    } catch {
      return null;
    }
  })();
  if (ino === statSync('/proc/self/ns/net').ino || ino === initIno) {
    throw new Error(`runTool: ${netns} is the host's network namespace; refusing`);
  }
}

/**
 * Where `fix` keeps its journal during a test: inside the world that owns `netns`
 * (`/tmp/ctrtest-<id>/state`, removed with the world), else a per-process temp path.
 */
function toolStateDir(netns: string): string {
  const world = /^\/run\/netns\/ctd-([a-z0-9]+)-/.exec(netns)?.[1];
  if (world && existsSync(`/tmp/ctrtest-${world}/state`)) return `/tmp/ctrtest-${world}/state/ctr-doctor`;
  return join(tmpdir(), `ctd-tool-state-${process.pid}`);
}

/** `argv` in a private mount namespace where each of `files` is bound over the host path (files written under `dir`). */
function withHostFiles(files: Record<string, string>, dirs: Record<string, string>, dir: string, argv: string[]): string[] {
  mkdirSync(join(dir, 'host-files'), { recursive: true });
  const binds: string[] = [];
  Object.entries(files).forEach(([path, content], i) => {
    const src = join(dir, 'host-files', String(i));
    writeFileSync(src, content);
    binds.push(src, path);
  });
  for (const [path, src] of Object.entries(dirs)) binds.push(src, path);
  // The mounts live and die with this namespace; nothing propagates to the machine's.
  const script = 'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 125; shift 2; done; shift; exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...binds, '--', ...argv];
}

/**
 * Run `node dist/bundle/ctr-doctor.js ...args` under `nsenter --net=<netns>`. Never throws on a
 * non-zero exit; throws when a prometheus or JUnit report is rejected by promtool or the JUnit XSD.
 */
export async function runTool(args: string[], opts: RunToolOptions): Promise<ToolResult> {
  assertNotHostNetns(opts.netns);
  assertBuilt();
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('CTR_DOCTOR_')) env[k] = undefined;
  // `fix` journals under /var/lib/ctr-doctor as root: keep test runs out of the machine's state.
  // As root the tool ignores CTR_DOCTOR_STATE_DIR (audit L1), so a test's choice becomes --state-dir.
  const state = opts.env?.CTR_DOCTOR_STATE_DIR ?? toolStateDir(opts.netns);
  env.CTR_DOCTOR_STATE_DIR = state;
  Object.assign(env, { NO_COLOR: '1', FORCE_COLOR: undefined }, opts.env);
  const journalled = args[0] === 'fix' || args[0] === 'undo';
  const toolArgs = journalled && !args.includes('--') ? [...args, '--state-dir', state] : args;
  const argv = [
    'nsenter',
    ...(opts.mountNs ? [`--mount=${opts.mountNs}`, `--wd=${REPO_ROOT}`] : []),
    `--net=${opts.netns}`,
    process.execPath,
    CLI_PATH,
    ...toolArgs,
  ];
  const r = await run(
    opts.hostFiles || opts.hostDirs ? withHostFiles(opts.hostFiles ?? {}, opts.hostDirs ?? {}, toolStateDir(opts.netns), argv) : argv,
    {
      env,
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      cwd: REPO_ROOT,
    },
  );
  const out: ToolResult = { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  // Every prometheus or JUnit report a test makes goes to the program that reads it (exit 2 made none).
  const consumed = consumedFormatOf(args);
  if (consumed && r.exitCode !== 2) {
    const file = outputFileOf(args);
    await assertConsumerAccepts(consumed, file ? readFileSync(resolve(REPO_ROOT, file), 'utf8') : r.stdout, `ctr-doctor ${args.join(' ')}`);
  }
  const t = r.stdout.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      out.json = JSON.parse(t);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

let validator: ValidateFunction | null = null;

/** The report JSON Schema printed by `ctr-doctor schema` (run once, in an empty netns). */
export async function reportSchema(): Promise<Record<string, unknown>> {
  assertBuilt();
  const r = await run(['unshare', '--net', process.execPath, CLI_PATH, 'schema'], { cwd: REPO_ROOT });
  if (r.exitCode !== 0) throw new Error(`ctr-doctor schema failed (rc ${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function getValidator(): Promise<ValidateFunction> {
  if (validator) return validator;
  const schema = await reportSchema();
  const draft = String(schema.$schema ?? '');
  const opts = { strict: false, allErrors: true, validateFormats: true };
  const ajv = draft.includes('2020-12') ? new Ajv2020(opts) : draft.includes('2019-09') ? new Ajv2019(opts) : new Ajv(opts);
  // ajv-formats is not a dependency: the few formats a report uses, checked loosely.
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:\S*$/i);
  validator = ajv.compile(schema);
  return validator;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}

/** Validation errors of `json` against the report schema (empty = valid). An array is validated item by item. */
export async function reportErrors(json: unknown): Promise<string[]> {
  const v = await getValidator();
  const items = Array.isArray(json) ? json : [json];
  const errs: string[] = [];
  items.forEach((item, i) => {
    if (!v(item)) errs.push(`${Array.isArray(json) ? `[${i}] ` : ''}${describeErrors(v.errors)}`);
  });
  return errs;
}

/** Throw (failing the test) unless `json` is a valid report (or array of reports, from `--all`). */
export async function validateReport(json: unknown): Promise<void> {
  if (json === undefined) throw new Error('validateReport: no JSON (stdout was not JSON)');
  const errs = await reportErrors(json);
  if (errs.length) throw new Error(`report does not match the schema:\n${errs.join('\n')}`);
}

let fixValidator: ValidateFunction | null = null;

/** Throw (failing the test) unless `json` is valid against `ctr-doctor schema fix` (what `fix --json` writes). */
export async function validateFixRun(json: unknown): Promise<void> {
  if (json === undefined) throw new Error('validateFixRun: no JSON (stdout was not JSON)');
  if (!fixValidator) {
    assertBuilt();
    const r = await run(['unshare', '--net', process.execPath, CLI_PATH, 'schema', 'fix'], { cwd: REPO_ROOT });
    if (r.exitCode !== 0) throw new Error(`ctr-doctor schema fix failed (rc ${r.exitCode}): ${r.stderr}`);
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:\S*$/i);
    fixValidator = ajv.compile(JSON.parse(r.stdout) as Record<string, unknown>);
  }
  if (!fixValidator(json)) throw new Error(`fix --json does not match \`schema fix\`:\n${describeErrors(fixValidator.errors)}`);
}
