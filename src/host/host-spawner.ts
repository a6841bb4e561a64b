import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { trackChild } from '../core/live-children.js';
import { spawnSpawnerProcess, takePrestartedSpawner } from './spawner-process.js';

/** What the spawner says about one command (see SPAWNER_SOURCE). */
interface SpawnerEvent {
  i: number;
  /** pid, once spawned */
  p?: number;
  /** a stdout / stderr chunk, base64 */
  o?: string;
  e?: string;
  /** an 'error' event: [code, message] */
  r?: [string | null, string];
  /** spawn() threw: its message */
  t?: string;
  /** exit: [code, signal] */
  x?: [number | null, NodeJS.Signals | null];
  /** close */
  d?: 1;
}

/** An output stream of a {@link RemoteChild}: 'data' events with Buffers; destroy() stops the relay. */
class RemoteStream extends EventEmitter {
  private destroyed = false;
  constructor(private readonly onDestroy: () => void) {
    super();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.onDestroy();
  }
}

/**
 * A command started by the spawner, shaped like the parts of a ChildProcess that run-command and
 * live-children use: pid, stdout/stderr 'data', 'error', 'exit', 'close', kill() of its pid.
 */
export class RemoteChild extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** Input is sent with the request: there is no stdin to write. */
  readonly stdin = null;
  readonly stdout: RemoteStream;
  readonly stderr: RemoteStream;
  /** Set when spawn() threw in the spawner (a bad argument): its message. */
  thrown: string | null = null;
  private groupKillPending = false;

  constructor(onDestroy: () => void) {
    super();
    this.stdout = new RemoteStream(onDestroy);
    this.stderr = new RemoteStream(onDestroy);
  }

  /** Signals the process (by pid, from the CLI: same pid namespace and rights as the spawner). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    if (this.pid === undefined) {
      // Not started yet: it leads its own group, which goes as soon as it has a pid.
      this.groupKillPending = true;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILLs its process group, now or as soon as its pid is known (a timeout may come first). */
  killGroup(): void {
    if (this.pid === undefined) {
      this.groupKillPending = true;
      return;
    }
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // The group is empty.
    }
  }

  /** The spawner's event loop holds the reference (see HostSpawner): nothing to do per child. */
  ref(): void {}
  unref(): void {}

  /** Applies one event from the spawner. */
  receive(m: SpawnerEvent): void {
    if (m.p !== undefined) {
      this.pid = m.p;
      if (this.groupKillPending) this.killGroup();
    } else if (m.o !== undefined) this.stdout.emit('data', Buffer.from(m.o, 'base64'));
    else if (m.e !== undefined) this.stderr.emit('data', Buffer.from(m.e, 'base64'));
    else if (m.r !== undefined) this.emit('error', Object.assign(new Error(m.r[1]), m.r[0] === null ? {} : { code: m.r[0] }));
    else if (m.t !== undefined) {
      this.thrown = m.t;
      this.emit('error', new Error(m.t));
    } else if (m.x !== undefined) {
      [this.exitCode, this.signalCode] = m.x;
      this.emit('exit', m.x[0], m.x[1]);
    } else if (m.d !== undefined) this.emit('close', this.exitCode, this.signalCode);
  }
}

/** One spawner process and the commands it is running for us. */
class HostSpawner {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly running = new Map<number, RemoteChild>();
  private nextId = 1;
  private partial = '';
  dead = false;

  constructor() {
    // Started by the bin while the CLI loaded, when it saw `check --all` (see spawner-process.ts), else now.
    this.child = takePrestartedSpawner() ?? spawnSpawnerProcess();
    // It serves every run of the process: only the CLI's end (endLiveChildren) stops it.
    trackChild(this.child, { unscoped: true });
    this.child.unref();
    this.child.stdin.on('error', () => undefined);
    this.child.stderr.resume();
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.onOutput(chunk);
    });
    this.child.on('error', () => {
      this.die('the host spawner could not start');
    });
    // On 'close', not 'exit': what it wrote before it ended has been read by then.
    this.child.on('close', () => {
      this.die('the host spawner exited');
    });
    this.idle();
  }

  /** Kills the spawner (its commands are reported as killed). */
  end(): void {
    this.child.kill('SIGKILL');
  }

  /** Starts `file args` in the spawner; the result behaves like a ChildProcess (see RemoteChild). */
  spawn(file: string, args: string[], opts: { cwd: string | undefined; input: string | null }): RemoteChild {
    const id = this.nextId++;
    const remote = new RemoteChild(() => {
      if (!this.dead) this.child.stdin.write(JSON.stringify({ i: id, k: 1 }) + '\n');
    });
    this.running.set(id, remote);
    if (this.running.size === 1) this.busy();
    remote.once('close', () => {
      this.running.delete(id);
      if (this.running.size === 0) this.idle();
    });
    this.child.stdin.write(JSON.stringify({ i: id, f: file, a: args, c: opts.cwd ?? null, n: opts.input }) + '\n');
    return remote;
  }

  /** While a command runs, the spawner's output keeps our event loop alive; idle, it must not. */
  private busy(): void {
    this.child.ref();
    (this.child.stdout as unknown as { ref?: () => void }).ref?.();
  }

  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  }

  private onOutput(chunk: string): void {
    this.partial += chunk;
    for (let nl = this.partial.indexOf('\n'); nl >= 0; nl = this.partial.indexOf('\n')) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      let m: SpawnerEvent;
      try {
        m = JSON.parse(line) as SpawnerEvent;
      } catch {
        continue;
      }
      this.running.get(m.i)?.receive(m);
    }
  }

  /** The spawner is gone: what it was running is reported as not started, or as killed (its group is killed too). */
  private die(why: string): void {
    if (this.dead) return;
    this.dead = true;
    if (current === this) current = null;
    for (const remote of [...this.running.values()]) {
      if (remote.pid === undefined) remote.receive({ i: 0, r: [null, why] });
      else if (remote.exitCode === null && remote.signalCode === null) {
        remote.killGroup();
        remote.receive({ i: 0, x: [null, 'SIGKILL'] });
      }
      remote.receive({ i: 0, d: 1 });
    }
  }
}

let enabled = false;
let current: HostSpawner | null = null;

/**
 * From now on, host commands of this process start in the spawner (see SPAWNER_SOURCE), which is
 * started now. For `check --all`: one guest's check is better off without the extra process.
 */
export function useHostSpawner(): void {
  enabled = true;
  current ??= new HostSpawner();
}

/** For unit tests that run the same cases with and without a spawner: ends it, and commands are spawned here again. */
export function stopHostSpawnerForTests(): void {
  enabled = false;
  current?.end();
  current = null;
}

/**
 * True once {@link useHostSpawner} was called: every later command is started by a spawner (a fresh
 * one if the last has died), so a command inherits only its stdin, stdout and stderr.
 */
export function commandsInheritOnlyStdio(): boolean {
  return enabled;
}

/** The spawner to start a command in, or null when commands are spawned here. */
export function hostSpawner(): HostSpawner | null {
  if (!enabled) return null;
  current ??= new HostSpawner();
  return current;
}
