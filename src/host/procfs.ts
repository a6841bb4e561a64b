import { readdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { HostScanIncomplete } from '../core/scan-clock.js';
import { askStatLines, awaitingScanThread, takeProcessScan } from './proc-scan-worker.js';
import { PROC_CAPS, identityOf, linkOrNull, readCappedSync, readCappedText, statOrNull } from './proc-read.js';
import type { HostProcess } from '../core/host.js';

export type { HostProcess } from '../core/host.js';

/** The parts of /proc/PID/stat that follow the parenthesised comm. */
export function parseStat(text: string): { comm: string; state: string; ppid: number; startTime: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  // Field 22 (starttime) is the 20th after the comm.
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** Splits NUL-separated argv, dropping the terminator. */
function splitArgv(bytes: Buffer): string[] {
  const parts = bytes.toString('utf8').split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

type NsKind = 'mnt' | 'net' | 'pid' | 'user' | 'uts' | 'ipc' | 'cgroup';

/** One process, read lazily: each field costs its own /proc read, once. */
export class ProcEntry implements HostProcess {
  private statCache?: ReturnType<typeof parseStat> | null;
  /** Made at the first read: a scan of 10,000 processes reads most of them no further. */
  private cache?: Map<string, unknown>;
  /** The owner of /proc/PID, a field of its own: the scan records it for every process. */
  private owner?: number;

  /** `ownRootId` lets a process rooted at our own `/` skip the readlink of its root. */
  constructor(
    readonly pid: number,
    readonly rootId: string | null,
    private readonly ownRootId: string | null = null,
  ) {}

  private memo<T>(key: string, read: () => T): T {
    this.cache ??= new Map();
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const value = read();
    this.cache.set(key, value);
    return value;
  }

  private get stat() {
    if (this.statCache === undefined) {
      const r = readCappedText(`/proc/${this.pid}/stat`, PROC_CAPS.stat);
      this.statCache = r ? parseStat(r.text) : null;
    }
    return this.statCache;
  }

  /** False when the process had gone by its first read. */
  get exists(): boolean {
    return this.stat !== null;
  }
  get comm(): string {
    return this.stat?.comm ?? '';
  }
  get ppid(): number {
    return this.stat?.ppid ?? -1;
  }
  get startTime(): number {
    return this.stat?.startTime ?? -1;
  }
  /** One-letter state (R, S, Z…); `?` when gone. */
  get state(): string {
    return this.stat?.state ?? '?';
  }

  get uid(): number {
    return this.memo('uid', () => {
      const status = readCappedText(`/proc/${this.pid}/status`, PROC_CAPS.status)?.text;
      const line = status?.split('\n').find((l) => l.startsWith('Uid:'));
      return Number(line?.split(/\s+/)[1] ?? -1);
    });
  }

  get cmdline(): string[] {
    return this.memo('cmdline', () => {
      const r = readCappedSync(`/proc/${this.pid}/cmdline`, PROC_CAPS.cmdline);
      return r ? splitArgv(r.bytes) : [];
    });
  }

  /** The root is ctr-doctor's own `/` (known from the scan, no read). */
  get rootedAtOwnRoot(): boolean {
    return this.rootId !== null && this.rootId === this.ownRootId;
  }

  get rootLink(): string | null {
    if (this.rootId !== null && this.rootId === this.ownRootId) return '/';
    return this.memo('root', () => linkOrNull(`/proc/${this.pid}/root`));
  }

  get cwdLink(): string | null {
    return this.memo('cwd', () => linkOrNull(`/proc/${this.pid}/cwd`));
  }
  get netns(): string | null {
    return this.ns('net');
  }
  get mntns(): string | null {
    return this.ns('mnt');
  }
  get pidns(): string | null {
    return this.ns('pid');
  }
  get userns(): string | null {
    return this.ns('user');
  }

  /** A namespace id such as `pid:[4026531836]`, or null. */
  ns(kind: NsKind): string | null {
    return this.memo(`ns/${kind}`, () => linkOrNull(`/proc/${this.pid}/ns/${kind}`));
  }

  /** Records /proc/PID/stat as the scan thread read it (comm, state, ppid, start time). */
  knowStat(text: string): void {
    this.statCache ??= parseStat(text);
  }

  /** A namespace id when it was read already (asked for by another scan), else undefined: never reads. */
  knownNamespace(kind: NsKind): string | null | undefined {
    return this.cache?.get(`ns/${kind}`) as string | null | undefined;
  }

  /** Records the owner of /proc/PID, when the scan already read it. */
  knowOwner(uid: number): void {
    this.owner ??= uid;
  }

  /** The owner of /proc/PID: the effective uid, for one stat (the cheapest thing to know after the root). */
  get ownerUid(): number {
    return (this.owner ??= statOrNull(`/proc/${this.pid}`)?.uid ?? -1);
  }

  /** dev:ino of the executable, to tell the real binary from one that only has its name. */
  get exeId(): string | null {
    return this.memo('exe', () => identityOf(`/proc/${this.pid}/exe`));
  }

  /** The cgroup v2 path (the `0::` line), or null without a unified hierarchy. */
  get cgroup(): string | null {
    return this.memo('cgroup', () => {
      const text = readCappedText(`/proc/${this.pid}/cgroup`, PROC_CAPS.cgroup)?.text ?? '';
      const line = text.split('\n').find((l) => l.startsWith('0::'));
      return line ? line.slice(3) : null;
    });
  }

  /** The environment, capped at 256 KiB (a variable cut by the cap is dropped); null when unreadable. */
  environ(): Record<string, string> | null {
    return this.memo('environ', () => {
      const r = readCappedSync(`/proc/${this.pid}/environ`, PROC_CAPS.environ);
      if (!r) return null;
      const items = splitArgv(r.bytes);
      if (r.truncated) items.pop();
      const env: Record<string, string> = {};
      for (const item of items) {
        const eq = item.indexOf('=');
        if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
      }
      return env;
    });
  }
}

/** How many processes are read between two turns of the event loop: probes and timers keep running. */
const SCAN_CHUNK = 256;

/** The pids in /proc now. */
export function listPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return [];
  }
}

/** Resolves once the owners the scan thread sends after its rows are recorded (at once when there is no such scan). */
let ownersArrived: Promise<void> = Promise.resolve();
let ownersDone = true;
/** The processes the scan thread listed, which it can be asked about; null after an inline scan. */
let listedByThread: ProcEntry[] | null = null;
/** The stat lines asked of the scan thread, once for each kind of candidate. */
const asked = new Map<'non-root' | 'elsewhere', Promise<void>>();

/** Waits for the scan thread's owners of /proc/PID, so that filtering by owner reads nothing more. */
export function processOwnersKnown(): Promise<void> {
  // A pending message alone does not keep the process alive: the thread must, until it comes.
  if (!ownersDone) awaitingScanThread(ownersArrived);
  return ownersArrived;
}

/**
 * Asks the scan thread for /proc/PID/stat (comm, ppid…) of the processes not run by root (systemd-resolved's
 * candidates) or of those rooted elsewhere (machine leaders'), so that filtering them reads nothing here.
 */
export async function processStatsKnown(which: 'non-root' | 'elsewhere'): Promise<void> {
  const all = listedByThread;
  if (!all) return;
  await processOwnersKnown();
  const candidates = all.filter(which === 'non-root' ? (p: ProcEntry) => p.ownerUid !== 0 : (p: ProcEntry) => !p.rootedAtOwnRoot);
  // A few candidates are read here at once: asking would wait behind whatever the thread is doing.
  if (candidates.length <= FEW_CANDIDATES) return;
  let answer = asked.get(which);
  if (!answer) {
    answer = askStatLines(candidates.map((p) => p.pid)).then((lines) => {
      if (lines?.length === candidates.length)
        candidates.forEach((p, i) => {
          const text = lines[i];
          if (typeof text === 'string') p.knowStat(text);
        });
    });
    asked.set(which, answer);
  }
  return answer;
}

/** Up to how many candidates {@link processStatsKnown} reads on this thread instead of asking the scan thread. */
const FEW_CANDIDATES = 64;

/**
 * Every process on the host, with only the cheapest read done (a stat of /proc/PID/root). Reads
 * in chunks and yields between them. Throws {@link HostScanIncomplete} once `budgetMs` is spent.
 */
export async function listHostProcesses(budgetMs = Infinity): Promise<HostProcess[]> {
  const started = performance.now();
  const ownRoot = identityOf('/');
  const early = takeProcessScan();
  if (early) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), budgetMs === Infinity ? 2 ** 31 - 1 : budgetMs);
    });
    const rows = await Promise.race([early.rows, late]);
    clearTimeout(timer);
    if (rows === 'late') throw new HostScanIncomplete('processes', budgetMs, 'the scan thread did not answer');
    if (rows !== null) {
      const all: ProcEntry[] = [];
      // Most processes are rooted at our own `/`: they share its id string instead of making one each.
      const [ownDev, ownIno] = (ownRoot ?? '').split(':').map(Number);
      for (let i = 0; i < rows.length; i += 3) {
        const dev = rows[i + 1]!;
        const ino = rows[i + 2]!;
        const id = Number.isNaN(dev) ? null : dev === ownDev && ino === ownIno ? ownRoot : `${dev}:${ino}`;
        all.push(new ProcEntry(rows[i]!, id, ownRoot));
      }
      // The thread goes on with the owners of /proc/PID; until they come, an owner asked for is read here.
      ownersDone = false;
      ownersArrived = early.owners.then((owners) => {
        ownersDone = true;
        if (owners?.length === all.length)
          owners.forEach((uid, i) => {
            all[i]!.knowOwner(uid);
          });
      });
      // Later scans may ask the scan thread about these very processes.
      listedByThread = all;
      asked.clear();
      return all;
    }
  }
  const pids = listPids();
  const all: ProcEntry[] = [];
  for (let i = 0; i < pids.length; i++) {
    if (i % SCAN_CHUNK === 0 && i > 0) {
      await yieldToLoop();
      if (performance.now() - started > budgetMs) throw new HostScanIncomplete('processes', budgetMs, `${i} of ${pids.length} read`);
    }
    const pid = pids[i]!;
    const root = statOrNull(`/proc/${pid}/root`);
    // A process that vanished since readdir has no /proc entry any more.
    if (root === null && statOrNull(`/proc/${pid}`) === null) continue;
    all.push(new ProcEntry(pid, root ? `${root.dev}:${root.ino}` : null, ownRoot));
  }
  return all;
}

/** Identity of a directory (or /proc/PID/root): `dev:ino`. */
export async function dirIdentity(path: string): Promise<string | null> {
  return identityOf(path);
}

/** Reads one process; null when it does not exist. */
export async function readProcess(pid: number): Promise<ProcEntry | null> {
  return readProcessSync(pid);
}

/** {@link readProcess}, synchronously. */
export function readProcessSync(pid: number): ProcEntry | null {
  if (!Number.isInteger(pid) || pid < 1) return null;
  const entry = new ProcEntry(pid, identityOf(`/proc/${pid}/root`), identityOf('/'));
  return entry.exists ? entry : null;
}

/** A process's environment, capped at 256 KiB; null when it vanished or cannot be read. */
export async function readEnviron(pid: number): Promise<Record<string, string> | null> {
  return new ProcEntry(pid, null).environ();
}

/** The namespace id of the calling process, e.g. `net:[4026531840]`. */
export async function ownNamespace(kind: 'net' | 'mnt' | 'user' | 'pid'): Promise<string | null> {
  return linkOrNull(`/proc/self/ns/${kind}`);
}
