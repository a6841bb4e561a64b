import { afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { GuestFiles } from '../../../src/guest/guest-files.js';
import { FakeHost } from './fake-host.js';
import type { CheckContext, CheckOptions } from '../../../src/core/check.js';
import type {
  ExecOptions,
  ExecResult,
  GuestProcess,
  GuestRead,
  GuestSession,
  GuestStat,
  GuestUser,
  Target,
} from '../../../src/core/target.js';
import type { MountEntry } from '../../../src/parse/mountinfo.js';
import type { ProbeName, ProbeRequests, ProbeResponses } from '../../../src/core/probe-types.js';
import type { Host } from '../../../src/core/host.js';
import type { TargetKind } from '../../../src/core/types.js';

/** A file in the fake guest: text, or a special node. */
export type FakeFile =
  | string
  | { symlink: string }
  | ({ dir: true; mode?: number } & FakeOwner)
  | { fifo: true }
  | ({ content: string | Buffer; mode?: number } & FakeOwner);

/**
 * Who a fake file belongs to, as the check sees it (stat, reads): the real file belongs to
 * whoever runs the tests, so without this a test would depend on this machine's uid.
 */
export interface FakeOwner {
  uid?: number;
  gid?: number;
}

/** A scripted command: the argv it expects and what it returns. */
export interface FakeCommand {
  argv: string[];
  /** Match only the first N args (the rest may vary). */
  prefix?: boolean;
  result: Partial<ExecResult>;
  /** Computes the result from the argv it was given (laid over `result`): for commands whose arguments are chosen at run time. */
  respond?: (argv: string[]) => Partial<ExecResult>;
}

/** A scripted probe: matched by name and, optionally, a predicate on the request. */
export interface FakeProbeOf<K extends ProbeName> {
  name: K;
  match?: (req: ProbeRequests[K]) => boolean;
  response: ProbeResponses[K] | ((req: ProbeRequests[K]) => ProbeResponses[K]);
  /** Throw instead of answering, like a probe child that could not start. */
  error?: string;
}

/** A scripted probe; without a name given, any probe, each typed by its own name. */
export type FakeProbe<K extends ProbeName = ProbeName> = K extends ProbeName ? FakeProbeOf<K> : never;

/** Everything a scenario sets up. */
export interface FakeScenario {
  kind?: TargetKind;
  name?: string;
  files?: Record<string, FakeFile>;
  commands?: FakeCommand[];
  netnsCommands?: FakeCommand[];
  /** /proc/net files as the guest's network namespace shows them, by name (`unix`, `udp`…); missing ones read as null. */
  procNet?: Record<string, string>;
  probes?: FakeProbe[];
  processes?: GuestProcess[];
  mounts?: MountEntry[];
  env?: Record<string, string>;
  user?: Partial<GuestUser>;
  pid?: number | null;
  sharesNetns?: boolean;
  /** The guest has its own mount namespace (nspawn, pid targets). */
  ownMountNs?: boolean;
  /** The root is a process's /proc/PID/root (pid and nspawn targets found without a directory). */
  rootViaProcess?: boolean;
  /** The root as the host sees it (a path such as "/srv/my guest"); default the temp dir. The files stay in the temp dir. */
  root?: string;
  /** The session process `env` came from. */
  sessionPid?: number | null;
  /** The desktop session; default: the user's, from the session process. Null with `noSessionReason` for a guest where none runs. */
  session?: GuestSession | null;
  noSessionReason?: string;
  /** Where `env` came from, as evidence shows it. */
  envSource?: string;
  nspawn?: Target['nspawn'];
  schroot?: Target['schroot'];
}

/** The calls a check made, for assertions. */
export interface FakeLog {
  exec: { argv: string[]; opts?: ExecOptions }[];
  netns: string[][];
  procNet: string[];
  probes: { name: string; request: unknown; asUser?: boolean }[];
  /** Guest files read through the read-file probe (unscripted), with the user's rights when asUser. */
  userReads: { path: string; asUser: boolean }[];
}

/**
 * A Target whose files live in a real temp dir (so symlink semantics are real) and whose
 * commands and probes are scripted: an unexpected command or probe fails the test.
 */
export class FakeTarget implements Target {
  readonly kind: TargetKind;
  readonly name: string;
  readonly root: string;
  readonly pid: number | null;
  readonly netnsPath: string | null;
  readonly sharesNetns: boolean;
  readonly ownMountNs: boolean;
  readonly rootViaProcess: boolean;
  readonly sessionPid: number | null;
  readonly env: Record<string, string>;
  readonly envSource: string;
  readonly user: GuestUser;
  readonly session: GuestSession | null;
  readonly noSessionReason: string | null;
  readonly nspawn?: Target['nspawn'];
  readonly schroot?: Target['schroot'];
  readonly log: FakeLog = { exec: [], netns: [], procNet: [], probes: [], userReads: [] };
  private readonly files: GuestFiles;
  /** Declared owners by guest path, laid over the real files' (see FakeOwner). */
  private readonly owners = new Map<string, Required<FakeOwner>>();

  /** The temp dir the fake guest's files live in. */
  private readonly dir: string;

  constructor(private readonly scenario: FakeScenario) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-fake-'));
    made.add(this.dir);
    for (const [p, f] of Object.entries(scenario.files ?? {})) {
      writeFake(this.dir, p, f);
      if (typeof f === 'object' && ('dir' in f || 'content' in f) && (f.uid !== undefined || f.gid !== undefined)) {
        this.owners.set(path.posix.normalize(p), { uid: f.uid ?? f.gid ?? 0, gid: f.gid ?? f.uid ?? 0 });
      }
    }
    this.files = new GuestFiles(this.dir);
    this.root = scenario.root ?? this.dir;
    this.kind = scenario.kind ?? 'chroot';
    this.name = scenario.name ?? this.root;
    this.pid = scenario.pid ?? null;
    this.sharesNetns = scenario.sharesNetns ?? true;
    this.netnsPath = this.sharesNetns ? null : '/proc/1/ns/net';
    this.ownMountNs = scenario.ownMountNs ?? false;
    this.rootViaProcess = scenario.rootViaProcess ?? false;
    this.sessionPid = scenario.sessionPid ?? null;
    this.env = scenario.env ?? {};
    this.envSource = scenario.envSource ?? 'scenario';
    this.user = { uid: 1000, gid: 1000, name: 'user', home: '/home/user', groups: [], source: 'default', ...scenario.user };
    this.session =
      scenario.session !== undefined ? scenario.session : { pid: this.sessionPid ?? this.pid, uid: this.user.uid, source: 'process' };
    this.noSessionReason = this.session === null ? (scenario.noSessionReason ?? 'no desktop session runs in the fake guest') : null;
    if (scenario.nspawn) this.nspawn = scenario.nspawn;
    if (scenario.schroot) this.schroot = scenario.schroot;
  }

  async stat(p: string, o?: { followLast?: boolean }) {
    const st = await this.files.stat(p, o);
    return 'error' in st ? st : this.owned(st);
  }

  async readFile(p: string, o?: { maxBytes?: number }): Promise<GuestRead> {
    const read = await this.files.readFile(p, o);
    return read.ok ? { ...read, stat: this.owned(read.stat) } : read;
  }

  /** A stat with the declared owner of its file, if any. */
  private owned(st: GuestStat): GuestStat {
    const owner = this.owners.get(st.guestPath);
    return owner ? { ...st, ...owner } : st;
  }
  readlink(p: string) {
    return this.files.readlink(p);
  }
  readdir(p: string) {
    return this.files.readdir(p);
  }

  async exec(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    this.log.exec.push({ argv, opts });
    return answer(this.scenario.commands ?? [], argv, 'guest');
  }

  async execInNetns(argv: string[]): Promise<ExecResult> {
    this.log.netns.push(argv);
    return answer(this.scenario.netnsCommands ?? [], argv, 'netns');
  }

  /** Like a guest in its own UTS namespace: the scripted `uname -n`. */
  async hostname(): Promise<string | null> {
    const uname = await this.exec(['uname', '-n']);
    return uname.exitCode === 0 && uname.stdout.trim() !== '' ? uname.stdout.trim() : null;
  }

  async readProcNet(name: string): Promise<string | null> {
    this.log.procNet.push(name);
    return this.scenario.procNet?.[name] ?? null;
  }

  async probe<K extends ProbeName>(name: K, request: ProbeRequests[K], opts?: { asUser?: boolean }): Promise<ProbeResponses[K]> {
    const scripted = (this.scenario.probes ?? []).find(
      (p) => p.name === name && (!p.match || (p.match as (r: unknown) => boolean)(request)),
    ) as FakeProbeOf<K> | undefined;
    if (!scripted && name === 'read-file') {
      // Files read as the user are logged apart: probes[] stays the list of network probes.
      this.log.userReads.push({ path: (request as ProbeRequests['read-file']).path, asUser: opts?.asUser ?? false });
      return this.readAsProbe(request as ProbeRequests['read-file'], opts?.asUser ?? false) as Promise<ProbeResponses[K]>;
    }
    this.log.probes.push({ name, request, asUser: opts?.asUser });
    if (!scripted) throw new Error(`FakeTarget: unexpected probe ${name} ${JSON.stringify(request)}`);
    if (scripted.error) throw new Error(scripted.error);
    return typeof scripted.response === 'function'
      ? (scripted.response as (r: ProbeRequests[K]) => ProbeResponses[K])(request)
      : scripted.response;
  }

  /** The read-file probe, unless scripted: the fake file, refused when its mode bits deny the user (the last component only). */
  private async readAsProbe(request: ProbeRequests['read-file'], asUser: boolean): Promise<ProbeResponses['read-file']> {
    const read = await this.readFile(request.path, { maxBytes: request.maxBytes });
    if (!read.ok) return { ok: false, reason: read.reason, message: read.message };
    const { uid, gid, mode, size } = read.stat;
    const who: { uid: number; gid: number; groups: number[] } = asUser ? this.user : { uid: 0, gid: 0, groups: [] };
    const bit = who.uid === 0 ? 0o444 : uid === who.uid ? 0o400 : gid === who.gid || who.groups.includes(gid) ? 0o040 : 0o004;
    if ((mode & bit) === 0) return { ok: false, reason: 'permission', message: `${request.path}: permission denied` };
    return { ok: true, dataBase64: read.bytes.toString('base64'), truncated: read.truncated, uid, gid, mode, size };
  }

  async processes() {
    return this.scenario.processes ?? [];
  }
  async mounts() {
    return this.scenario.mounts ?? [];
  }

  /** Host path of a guest file, to assert on what a fix wrote. */
  hostPath(p: string): string {
    return path.join(this.dir, p);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
    made.delete(this.dir);
  }
}

/** Temp roots not yet disposed; removed after the test file, whatever the test did. */
const made = new Set<string>();
afterAll(() => {
  // Only our own mkdtemp roots: never anything a re-rooted view might point at.
  for (const root of made) if (path.basename(root).startsWith('ctd-fake-')) rmSync(root, { recursive: true, force: true });
  made.clear();
});

function answer(commands: FakeCommand[], argv: string[], where: string): ExecResult {
  const hit = commands.find((c) =>
    c.prefix ? c.argv.every((a, i) => argv[i] === a) : c.argv.length === argv.length && c.argv.every((a, i) => argv[i] === a),
  );
  if (!hit) throw new Error(`FakeTarget: unexpected ${where} command: ${JSON.stringify(argv)}`);
  return { exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false, ...hit.result, ...hit.respond?.(argv) };
}

function writeFake(root: string, guestPath: string, file: FakeFile): void {
  const host = path.join(root, guestPath);
  mkdirSync(path.dirname(host), { recursive: true });
  if (typeof file === 'string') writeFileSync(host, file);
  else if ('symlink' in file) symlinkSync(file.symlink, host);
  else if ('dir' in file) {
    mkdirSync(host, { recursive: true });
    if (file.mode !== undefined) chmodSync(host, file.mode);
  } else if ('fifo' in file) execFileSync('mkfifo', [host]);
  else {
    writeFileSync(host, file.content);
    if (file.mode !== undefined) chmodSync(host, file.mode);
  }
}

/** Default options for unit tests: documentation addresses only. */
export const TEST_OPTIONS: CheckOptions = { pingTarget: '192.0.2.1', dnsName: 'example.test', timeoutMs: 1000, compareHost: false };

/** A check context over a fake target and a host (default: an empty FakeHost, so nothing of this machine is read). */
export function fakeContext(target: FakeTarget, options: Partial<CheckOptions> = {}, host?: Host): CheckContext {
  return { target, host: host ?? new FakeHost(), options: { ...TEST_OPTIONS, ...options } };
}
