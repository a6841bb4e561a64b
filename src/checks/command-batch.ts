import type { ExecOptions, ExecResult, Target } from '../core/target.js';
import { timing } from '../core/timing.js';
import { CommandFrameReader, type CommandFrame } from '../parse/command-frames.js';
import { batchArgv } from './batch-script.js';

/**
 * One confined guest chain for the guest commands the checks of a diagnosis ask for at the same
 * moment (issue 14: each chain is a spawner fork, two nsenters, setpriv and env before the guest
 * program runs). A check takes a {@link CommandSlot} of its target synchronously, at the start of
 * its gather (every check's gather starts in the same turn of the event loop), and runs its guest
 * commands through it. The target's slots are gathered until each has asked or let go (or
 * {@link HOLD_MS} after the first asked), then the commands run: those with the same identity and
 * environment together in one guest `sh` (batch-script.ts), a command alone as before.
 * What a check gets is its own command's result: exit status, stdout and stderr, its own deadline
 * (counted from when it asked); a command the batch cannot answer (no sh, output that is not our
 * frames, a program missing or not executable, the batch dying early) is asked alone, as before.
 */

/** A guest command's result with its duration: measured by the guest's clock in a batch, else by ours around the command. */
export interface TimedResult extends ExecResult {
  elapsedMs: number;
}

/** A command a check asks for: argv and Target.exec's options (user, env, timeoutMs; input or cwd make it run alone). */
export interface SlotCommand {
  argv: string[];
  opts?: ExecOptions;
}

/** A check's share of its target's next batch: ask once through it (more asks, and asks after letting go, run alone). */
export interface CommandSlot {
  /** Runs one command; see {@link CommandSlot.execAll}. */
  exec(argv: string[], opts?: ExecOptions): Promise<TimedResult>;
  /** Runs the commands (at once), each answer settling on its own as soon as it is known. */
  execAll(commands: readonly SlotCommand[]): Promise<TimedResult>[];
  /** This check asks nothing more of the batch: it need not wait for it. */
  release(): void;
}

/** How long the first command waits at most for the other slots to ask: a check slow to ask gets a chain of its own. */
export const HOLD_MS = 100;

/** A command waiting for its answer. */
interface Member {
  argv: string[];
  opts: ExecOptions;
  /** When its own time is up (performance.now()), Infinity without a timeout. */
  deadline: number;
  asked: number;
  done: boolean;
  settle(result: TimedResult): void;
  /** The target threw (a test's fake refusing a command): the check sees the throw, as it would have. */
  fail(error: unknown): void;
}

const now = (): number => performance.now();

/** The slots of one target being gathered. */
class Gathering {
  readonly slots = new Set<Slot>();
  readonly members: Member[] = [];
  /** The turn in which the checks take their slots has ended. */
  private ready = false;
  private hold: ReturnType<typeof setTimeout> | undefined;
  closed = false;

  constructor(private readonly target: Target) {
    setImmediate(() => {
      this.ready = true;
      this.maybeRun();
    });
  }

  add(members: Member[]): void {
    this.members.push(...members);
    this.hold ??= setTimeout(() => this.run(), HOLD_MS);
  }

  /** Runs once every slot has asked or let go, and the slots of this turn are all taken. */
  maybeRun(): void {
    if (this.closed || !this.ready) return;
    if ([...this.slots].every((s) => s.spent)) this.run();
  }

  private run(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.hold);
    if (gatherings.get(this.target) === this) gatherings.delete(this.target);
    dispatch(this.target, this.members);
  }
}

const gatherings = new WeakMap<Target, Gathering>();

class Slot implements CommandSlot {
  spent = false;

  constructor(
    private readonly target: Target,
    private readonly gathering: Gathering,
  ) {}

  exec(argv: string[], opts: ExecOptions = {}): Promise<TimedResult> {
    return this.execAll([{ argv, opts }])[0]!;
  }

  execAll(commands: readonly SlotCommand[]): Promise<TimedResult>[] {
    const asked = now();
    const members: Member[] = [];
    const answers = commands.map(
      ({ argv, opts = {} }) =>
        new Promise<TimedResult>((resolve, reject) => {
          const deadline = opts.timeoutMs === undefined ? Infinity : asked + opts.timeoutMs;
          members.push({ argv, opts, asked, deadline, done: false, settle: resolve, fail: reject });
        }),
    );
    const late = this.spent || this.gathering.closed;
    this.spent = true;
    if (late) dispatch(this.target, members);
    else {
      this.gathering.add(members);
      this.gathering.maybeRun();
    }
    return answers;
  }

  release(): void {
    if (this.spent) return;
    this.spent = true;
    this.gathering.maybeRun();
  }
}

/** Takes a slot in `target`'s next batch: call it synchronously at the start of a gather, and release it when done. */
export function commandSlot(target: Target): CommandSlot {
  let gathering = gatherings.get(target);
  if (!gathering || gathering.closed) {
    gathering = new Gathering(target);
    gatherings.set(target, gathering);
  }
  const slot = new Slot(target, gathering);
  gathering.slots.add(slot);
  return slot;
}

/** Runs `work` with a slot of `target`'s next batch, let go when `work` ends, whatever the way. */
export async function withCommandSlot<T>(target: Target, work: (slot: CommandSlot) => Promise<T>): Promise<T> {
  const slot = commandSlot(target);
  try {
    return await work(slot);
  } finally {
    slot.release();
  }
}

/** The options the desktop user's guest commands run with: none for root (the chain's own root, with no-new-privs). */
export function asDesktopUser(target: Target): Pick<ExecOptions, 'user'> {
  const { uid, gid, groups } = target.user;
  return uid === 0 ? {} : { user: { uid, gid, groups } };
}

/** Commands that may share one chain: the same user, groups and environment, no input, no working directory of their own. */
function identityOf(m: Member): string | null {
  if (m.opts.input !== undefined || m.opts.cwd !== undefined) return null;
  return JSON.stringify([m.opts.user ?? null, m.opts.env ?? null]);
}

function dispatch(target: Target, members: Member[]): void {
  const groups = new Map<string, Member[]>();
  for (const m of members) {
    const key = identityOf(m);
    if (key === null) void alone(target, m);
    else groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  for (const group of groups.values()) {
    if (group.length === 1) void alone(target, group[0]!);
    else void together(target, group);
  }
}

const timedOut = (m: Member): TimedResult => ({
  exitCode: null,
  stdout: '',
  stderr: '',
  timedOut: true,
  notFound: false,
  elapsedMs: Math.round(now() - m.asked),
});

/** The command alone in a chain of its own, with what is left of its time. */
async function alone(target: Target, m: Member): Promise<void> {
  const left = m.deadline - now();
  if (left <= 0) {
    m.settle(timedOut(m));
    return;
  }
  const started = now();
  try {
    const r = await target.exec(m.argv, Number.isFinite(left) ? { ...m.opts, timeoutMs: Math.ceil(left) } : m.opts);
    m.settle({ ...r, elapsedMs: Math.round(now() - started) });
  } catch (error) {
    m.fail(error);
  }
}

/**
 * The commands of one identity in ONE guest command (batch-script.ts): each settles when its
 * frame has come (or its deadline passed); the batch runs until the last deadline.
 */
async function together(target: Target, group: Member[]): Promise<void> {
  const marker = `ctd-${globalThis.crypto.randomUUID()}`;
  const finish = (m: Member, result: TimedResult | null): void => {
    if (m.done) return;
    m.done = true;
    clearTimeout(timers.get(m));
    if (result === null) void alone(target, m);
    else m.settle(result);
  };
  const timers = new Map<Member, ReturnType<typeof setTimeout>>();
  for (const m of group)
    if (Number.isFinite(m.deadline))
      timers.set(
        m,
        setTimeout(() => finish(m, timedOut(m)), Math.max(0, m.deadline - now())),
      );
  const onFrame = (f: CommandFrame): void => {
    const m = group[f.index - 1]!;
    timing(
      `guest batch: command ${f.index} (${m.argv[0]}) exit ${f.exitCode} in ${f.elapsedMs} ms by the guest clock, ${Math.round(now() - started)} ms after the batch started`,
    );
    // A program missing or not executable: asked alone, so that its status and message are the guest's own, as before.
    if (f.exitCode === 126 || f.exitCode === 127) finish(m, null);
    else finish(m, { exitCode: f.exitCode, stdout: f.stdout, stderr: f.stderr, timedOut: false, notFound: false, elapsedMs: f.elapsedMs });
  };
  const reader = new CommandFrameReader(marker, group.length, onFrame);
  const started = now();
  const output = { streamed: false };
  const last = Math.max(...group.map((m) => m.deadline));
  const first = group[0]!.opts;
  let r: ExecResult;
  try {
    r = await target.exec(
      batchArgv(
        marker,
        group.map((m) => m.argv),
      ),
      {
        ...(first.user ? { user: first.user } : {}),
        ...(first.env ? { env: first.env } : {}),
        ...(Number.isFinite(last) ? { timeoutMs: Math.max(1, Math.ceil(last - now())) } : {}),
        onStdout: (chunk) => {
          output.streamed = true;
          reader.push(chunk);
        },
      },
    );
  } catch (error) {
    for (const m of group) {
      if (m.done) continue;
      m.done = true;
      clearTimeout(timers.get(m));
      m.fail(error);
    }
    return;
  }
  timing(
    `guest batch of ${group.length} commands in one chain: ended after ${Math.round(now() - started)} ms${reader.broken === null ? '' : `, not our frames (${reader.broken})`}`,
  );
  // A target that hands over the output only at the end (a test's fake) is read now.
  if (!output.streamed && r.stdout !== '') reader.push(Buffer.from(r.stdout));
  reader.end();
  // Killed at the last deadline: what has no frame timed out. Otherwise the batch did not answer it (no sh, not our frames): alone.
  for (const m of group) finish(m, r.timedOut && reader.broken === null ? timedOut(m) : null);
}
