/**
 * A stack of teardown actions for integration worlds.
 *
 * Every resource the harness creates (mount, namespace, process, cgroup, config
 * file, schroot session) is registered here right after it is created. `run()`
 * undoes them in reverse order, logs each failure and only throws at the end.
 * Items may carry a synchronous fallback that runs on `process.on('exit')` when
 * the async teardown never happened (a crashed worker, `process.exit()`), and
 * SIGINT/SIGTERM/SIGHUP run the async teardown before exiting.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { execa } from 'execa';

/** One deferred action. */
interface Item {
  label: string;
  fn: () => Promise<void> | void;
  /** Best-effort synchronous version used from the `exit` fallback. */
  sync?: () => void;
  done: boolean;
}

/** Options of {@link Cleanup.defer}. */
export interface DeferOptions {
  /** A synchronous fallback for the process `exit` hook. */
  sync?: () => void;
}

/** A failure collected by {@link Cleanup.run}. */
export interface CleanupFailure {
  label: string;
  error: unknown;
}

const live = new Set<Cleanup>();
let hooksInstalled = false;

function onExit(): void {
  for (const c of live) c.runSync();
}

async function onSignal(sig: NodeJS.Signals): Promise<void> {
  console.warn(`[harness] ${sig}: tearing down ${live.size} world(s)`);
  for (const c of [...live]) {
    try {
      await c.run();
    } catch {
      /* logged already */
    }
  }
  process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
}

const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const signalHandler = (sig: NodeJS.Signals): void => void onSignal(sig);

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const s of signals) process.on(s, signalHandler);
}

function removeHooks(): void {
  if (!hooksInstalled || live.size > 0) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  for (const s of signals) process.off(s, signalHandler);
}

/** Reverse-order teardown stack. Create one per world (or per test). */
export class Cleanup {
  private items: Item[] = [];
  private running: Promise<void> | null = null;

  /**
   * @param name used in log lines
   * @param log where failures are reported (default console.error)
   */
  constructor(
    readonly name = 'cleanup',
    private readonly log: (msg: string, err: unknown) => void = (m, e) => console.error(m, e),
  ) {}

  /** Register `fn` to run at teardown (last registered runs first). */
  defer(label: string, fn: () => Promise<void> | void, opts: DeferOptions = {}): void {
    this.items.push({ label, fn, sync: opts.sync, done: false });
    live.add(this);
    installHooks();
  }

  /**
   * Register a command to run at teardown. Its exit code must be in `okCodes`
   * (default `[0]`); it is also run synchronously from the `exit` fallback.
   */
  deferCmd(label: string, argv: string[], okCodes: number[] = [0]): void {
    const [file, ...args] = argv;
    if (!file) throw new Error('deferCmd: empty argv');
    this.defer(
      label,
      async () => {
        const r = await execa(file, args, { reject: false, timeout: 30_000 });
        if (!okCodes.includes(r.exitCode ?? -1)) {
          throw new Error(`${argv.join(' ')} → rc ${r.exitCode}: ${r.stderr || r.stdout}`.trim());
        }
      },
      { sync: () => void spawnSync(file, args, { stdio: 'ignore', timeout: 10_000 }) },
    );
  }

  /** Number of actions not yet run. */
  get pending(): number {
    return this.items.filter((i) => !i.done).length;
  }

  /**
   * Run every pending action, newest first. Each failure is logged and collected;
   * after all ran, throws an AggregateError if any failed. Re-entrant calls wait
   * for the same run.
   */
  run(): Promise<void> {
    this.running ??= this.runAll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runAll(): Promise<void> {
    const failures: CleanupFailure[] = [];
    for (;;) {
      const item = this.items.filter((i) => !i.done).pop();
      if (!item) break;
      item.done = true;
      try {
        await item.fn();
      } catch (error) {
        failures.push({ label: item.label, error });
        this.log(`[harness:${this.name}] cleanup "${item.label}" failed:`, error);
      }
    }
    this.items = [];
    live.delete(this);
    removeHooks();
    if (failures.length > 0) {
      throw new AggregateError(
        failures.map((f) => f.error),
        `${failures.length} cleanup step(s) failed: ${failures.map((f) => f.label).join(', ')}`,
      );
    }
  }

  /** Synchronous best effort for the `exit` hook: runs only the `sync` fallbacks. */
  runSync(): void {
    for (const item of [...this.items].reverse()) {
      if (item.done) continue;
      item.done = true;
      try {
        item.sync?.();
      } catch {
        /* best effort */
      }
    }
    this.items = [];
    live.delete(this);
  }
}

/** Synchronously kill a PID with SIGKILL, ignoring ESRCH (for `sync` fallbacks). */
export function killSync(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Synchronously run a command, ignoring failures (for `sync` fallbacks). */
export function runSyncQuiet(argv: string[]): void {
  const [file, ...args] = argv;
  if (!file) return;
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* best effort */
  }
}
