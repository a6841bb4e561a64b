import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { HOST_ENV } from './host-programs.js';

/**
 * A small long-lived Node process that starts host commands for the CLI (`check --all`).
 * Why: Node forks on Linux, and a fork of the CLI (90 MB and more with many guests) blocks its
 * main thread until the child has exec'd; under load that wait was half of `--all`'s main thread.
 * The spawner is a fixed program of ours (this source, run by our own node with HOST_ENV), never
 * anything a guest chose. At start it closes every descriptor above 2 it inherited without
 * close-on-exec (ones the CLI's own parent left open), so what it starts inherits only its pipes.
 * It only relays: spawn (detached, HOST_ENV), output chunks, exit and close; the CLI keeps the
 * timeouts, caps and kills (it kills process groups by pid itself).
 */
const SPAWNER_SOURCE = `'use strict';
process.title = 'ctr-doctor-spawner';
// Short-lived: TurboFan's compiles cost more CPU than they save (an unknown flag is ignored).
require('node:v8').setFlagsFromString('--no-turbofan');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
for (const name of fs.readdirSync('/proc/self/fd')) {
  const fd = Number(name);
  if (!(fd > 2)) continue;
  try {
    const m = /^flags:\\s*([0-7]+)/m.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'));
    if (m && (parseInt(m[1], 8) & 0o2000000) === 0) fs.closeSync(fd);
  } catch {}
}
const env = { ...process.env };
const children = new Map();
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
function start(m) {
  let child;
  try {
    child = spawn(m.f, m.a, { env, cwd: m.c === null ? undefined : m.c, detached: true, stdio: [m.n === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  } catch (e) {
    send({ i: m.i, t: String(e && e.message) });
    return;
  }
  children.set(m.i, child);
  if (child.pid !== undefined) send({ i: m.i, p: child.pid });
  child.stdout.on('data', (d) => send({ i: m.i, o: d.toString('base64') }));
  child.stderr.on('data', (d) => send({ i: m.i, e: d.toString('base64') }));
  child.on('error', (e) => send({ i: m.i, r: [e.code === undefined ? null : String(e.code), String(e.message)] }));
  child.on('exit', (code, signal) => send({ i: m.i, x: [code, signal] }));
  child.on('close', () => { children.delete(m.i); send({ i: m.i, d: 1 }); });
  if (m.n !== null) { child.stdin.on('error', () => {}); child.stdin.end(m.n); }
}
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let nl = buffered.indexOf('\\n'); nl >= 0; nl = buffered.indexOf('\\n')) {
    const m = JSON.parse(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
    if (m.k) { const c = children.get(m.i); if (c) { c.stdout.destroy(); c.stderr.destroy(); } }
    else start(m);
  }
});
process.stdin.on('end', () => process.exit(0));
`;

/** Starts a spawner process (see SPAWNER_SOURCE): our node, the fixed host environment, pipes for stdio. */
export function spawnSpawnerProcess(): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--max-semi-space-size=1', '-e', SPAWNER_SOURCE], {
    cwd: '/',
    env: { ...HOST_ENV },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Where the bin leaves a spawner it started (the bin and the CLI are separate bundles: a global, not a module variable). */
const SLOT = Symbol.for('ctr-doctor.prestarted-spawner');
type Slot = { [SLOT]?: ChildProcessWithoutNullStreams | null };

/**
 * Starts the spawner now, for the CLI to take later ({@link takePrestartedSpawner}): the bin calls
 * it for `check --all` before the CLI's modules load, so that node's start-up of the spawner (about
 * 40 ms of CPU) runs on the core the loading CLI leaves idle, not beside the guests' first checks.
 * It holds nothing up: unreferenced, and killed at exit when the CLI never took it.
 */
export function prestartSpawner(): void {
  const slot = globalThis as Slot;
  if (slot[SLOT] !== undefined) return;
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawnSpawnerProcess();
  } catch {
    // The CLI starts one itself (and says why it cannot).
    return;
  }
  slot[SLOT] = child;
  child.on('error', () => undefined);
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  process.once('exit', () => {
    if (slot[SLOT] === child) child.kill('SIGKILL');
  });
}

/** The spawner the bin started, once (null when it started none, or it has already ended). */
export function takePrestartedSpawner(): ChildProcessWithoutNullStreams | null {
  const slot = globalThis as Slot;
  const child = slot[SLOT] ?? null;
  slot[SLOT] = null;
  return child !== null && child.pid !== undefined && child.exitCode === null && child.signalCode === null ? child : null;
}

/**
 * True when `argv` (the CLI's arguments) asks `check --all`: the check command (named first, or the
 * default one: an option or a target first) with --all before any `--`. A guess for a head start
 * only: a wrong one costs an idle spawner killed at exit, or a spawner started later.
 */
export function asksCheckAll(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  const first = args[0] ?? '';
  return args.includes('--all') && (first === 'check' || first.startsWith('-') || first.includes(':'));
}
