import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { commandSlot, HOLD_MS, withCommandSlot } from '../../../src/checks/command-batch.js';
import { batchArgv } from '../../../src/checks/batch-script.js';
import { CommandFrameReader, type CommandFrame } from '../../../src/parse/command-frames.js';
import type { ExecOptions, ExecResult, Target } from '../../../src/core/target.js';

/** A scripted guest command's answer, and when it comes (ms after the batch started). */
interface Scripted {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  afterMs?: number;
}

const ok = (r: Partial<ExecResult> = {}): ExecResult => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false, ...r });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batch argv's commands: each word count, then its words. */
function commandsOf(argv: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 5; i < argv.length; i += 1 + Number(argv[i])) out.push(argv.slice(i + 1, i + 1 + Number(argv[i])));
  return out;
}

/**
 * A target whose guest sh runs batches the way batch-script.ts does, from `answer(words)`: each
 * frame streamed through onStdout when its command "ends"; other commands answered alone.
 */
function fakeTarget(answer: (words: string[]) => Scripted, opts: { noSh?: boolean; stdout?: (marker: string) => string } = {}) {
  const log: { argv: string[]; opts: ExecOptions }[] = [];
  const target = {
    user: { name: 'u', uid: 1000, gid: 1000, groups: [] },
    async exec(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      log.push({ argv, opts: o });
      if (argv[0] !== 'sh') {
        const a = answer(argv);
        await sleep(a.afterMs ?? 0);
        return ok({ exitCode: a.exitCode ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '', notFound: a.exitCode === 127 });
      }
      if (opts.noSh) return ok({ exitCode: 127, notFound: true, stderr: 'nsenter: failed to execute sh' });
      const marker = argv[4]!;
      if (opts.stdout) return ok({ stdout: opts.stdout(marker) });
      const started = Date.now();
      let all = '';
      const frames = commandsOf(argv).map(async (words, i) => {
        const a = answer(words);
        await sleep(a.afterMs ?? 0);
        const tag = `${marker} ${i + 1}`;
        const lines = (kind: string, text = '') => {
          const pieces = text.split('\n');
          const last = pieces.pop() ?? '';
          return [...pieces.map((l) => `${tag} ${kind} ${l}\n`), last === '' ? '' : `${tag} ${kind.toLowerCase()} ${last}\n`].join('');
        };
        const t = BigInt(Date.now() - started) * 1_000_000n;
        const frame = `${lines('R', a.stderr)}${lines('O', a.stdout)}${tag} X ${a.exitCode ?? 0} 7000000 ${7000000n + t}\n`;
        all += frame;
        o.onStdout?.(Buffer.from(frame));
      });
      if (o.timeoutMs !== undefined) {
        const timedOut = await Promise.race([Promise.all(frames).then(() => false), sleep(o.timeoutMs).then(() => true)]);
        if (timedOut) return ok({ exitCode: null, timedOut: true, stdout: all });
      } else await Promise.all(frames);
      return ok({ stdout: all });
    },
  } as unknown as Target;
  return { target, log };
}

const getent = (name: string, user = { uid: 1000, gid: 1000 }) => ({
  argv: ['getent', 'ahosts', name],
  opts: { user, env: { LC_ALL: 'C' }, timeoutMs: 2000 },
});

describe('one guest chain for the commands asked at the same moment', () => {
  test("slots taken in the same turn: every command in one guest sh, each answer its own command's", async () => {
    const { target, log } = fakeTarget((w) =>
      w[0] === 'ping'
        ? { stdout: '2 received\n', stderr: '', afterMs: 20 }
        : { stdout: `${w[2]} STREAM\n`, exitCode: w[2] === 'nx' ? 2 : 0 },
    );
    const ping = withCommandSlot(target, (slot) => slot.exec(['ping', '-c', '2', '192.0.2.1'], { ...getent('x').opts }));
    const lookups = withCommandSlot(target, async (slot) => Promise.all(slot.execAll([getent('localhost'), getent('nx')])));
    const idle = withCommandSlot(target, () => sleep(1));
    const [p, [l, nx]] = await Promise.all([ping, lookups, idle]);
    expect(log).toHaveLength(1);
    expect(log[0]!.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(commandsOf(log[0]!.argv)).toEqual([['ping', '-c', '2', '192.0.2.1'], getent('localhost').argv, getent('nx').argv]);
    // One identity: the user and environment the commands asked for.
    expect(log[0]!.opts.user).toEqual({ uid: 1000, gid: 1000 });
    expect(log[0]!.opts.env).toEqual({ LC_ALL: 'C' });
    expect(p).toMatchObject({ exitCode: 0, stdout: '2 received\n', timedOut: false, notFound: false });
    expect(l).toMatchObject({ exitCode: 0, stdout: 'localhost STREAM\n' });
    expect(nx).toMatchObject({ exitCode: 2, stdout: 'nx STREAM\n' });
    // The guest's clock says how long each took.
    expect(p.elapsedMs).toBeGreaterThanOrEqual(15);
    expect(l!.elapsedMs).toBeLessThan(15);
  });

  test('an answer comes as soon as its frame is out, not when the batch ends', async () => {
    const { target } = fakeTarget((w) => (w[0] === 'ping' ? { afterMs: 300 } : {}));
    const a = commandSlot(target);
    const b = commandSlot(target);
    const slow = a.exec(['ping', '192.0.2.1'], getent('x').opts);
    const started = Date.now();
    const fast = await b.exec(...(Object.values(getent('y')) as [string[], ExecOptions]));
    expect(Date.now() - started).toBeLessThan(200);
    expect(fast.exitCode).toBe(0);
    expect((await slow).exitCode).toBe(0);
  });

  test('another identity gets its own chain; a command alone runs as itself, with no sh', async () => {
    const { target, log } = fakeTarget(() => ({ stdout: 'x\n' }));
    const asUser = commandSlot(target).execAll([getent('a'), getent('b')]);
    const asRoot = commandSlot(target).exec(['getent', 'ahosts', 'c'], { env: { LC_ALL: 'C' }, timeoutMs: 2000 });
    await Promise.all([...asUser, asRoot]);
    expect(log.map((l) => l.argv[0]).sort()).toEqual(['getent', 'sh']);
    expect(log.find((l) => l.argv[0] === 'getent')?.opts.user).toBeUndefined();
  });

  test('a program the batch says is missing (127) is asked alone, for its own status and message', async () => {
    const { target, log } = fakeTarget((w) => (w[0] === 'ping' ? { exitCode: 127, stderr: 'sh: 1: exec: ping: not found\n' } : {}));
    const [ping, other] = commandSlot(target).execAll([{ argv: ['ping', '1'], opts: getent('x').opts }, getent('x')]);
    expect(await other).toMatchObject({ exitCode: 0 });
    expect(await ping).toMatchObject({ exitCode: 127, notFound: true });
    expect(log.map((l) => l.argv[0])).toEqual(['sh', 'ping']);
  });

  test('no sh, or output that is not our frames: each command is asked alone', async () => {
    for (const variant of [{ noSh: true }, { stdout: (m: string) => `${m} 1 X 0 %N %N\n` }, { stdout: () => 'hello\n' }]) {
      const { target, log } = fakeTarget(() => ({ stdout: 'alone\n' }), variant);
      const answers = await Promise.all(commandSlot(target).execAll([getent('a'), getent('b')]));
      expect(answers.map((a) => a.stdout)).toEqual(['alone\n', 'alone\n']);
      expect(log.map((l) => l.argv[0])).toEqual(['sh', 'getent', 'getent']);
    }
  });

  test('each command keeps its own deadline: one times out at its time while the other still answers', async () => {
    const { target } = fakeTarget((w) => (w[2] === 'slow' ? { afterMs: 400 } : { afterMs: 150 }));
    const started = Date.now();
    const [slow, fast] = commandSlot(target).execAll([
      { argv: ['getent', 'ahosts', 'slow'], opts: { timeoutMs: 60 } },
      { argv: ['getent', 'ahosts', 'fast'], opts: { timeoutMs: 1000 } },
    ]);
    const s = await slow!;
    expect(s).toMatchObject({ exitCode: null, timedOut: true, stdout: '' });
    expect(Date.now() - started).toBeLessThan(140);
    expect(await fast).toMatchObject({ exitCode: 0, timedOut: false });
  });

  test('a slot that has not asked within HOLD_MS does not hold the others; it asks alone later', async () => {
    const { target, log } = fakeTarget(() => ({}));
    const early = commandSlot(target).execAll([getent('a'), getent('b')]);
    const late = commandSlot(target);
    const started = Date.now();
    await Promise.all(early);
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 5);
    await late.exec(['getent', 'ahosts', 'c'], getent('c').opts);
    expect(log.map((l) => l.argv[0])).toEqual(['sh', 'getent']);
  });

  test('a slot let go does not hold the others; a second ask of a slot runs alone', async () => {
    const { target, log } = fakeTarget(() => ({}));
    const gone = commandSlot(target);
    const slot = commandSlot(target);
    const first = slot.execAll([getent('a'), getent('b')]);
    gone.release();
    const started = Date.now();
    await Promise.all(first);
    expect(Date.now() - started).toBeLessThan(HOLD_MS);
    await slot.exec(['getent', 'ahosts', 'again'], getent('again').opts);
    expect(log.map((l) => l.argv[0])).toEqual(['sh', 'getent']);
  });

  test("a target that throws (a test's fake refusing a command): the check sees the throw", async () => {
    const target = { exec: () => Promise.reject(new Error('unexpected command')) } as unknown as Target;
    const answers = commandSlot(target).execAll([getent('a'), getent('b')]);
    for (const a of answers) await expect(a).rejects.toThrow('unexpected command');
    await expect(commandSlot(target).exec(['x'])).rejects.toThrow('unexpected command');
  });
});

/** Runs a batch through a real shell of this machine, the frames read as the collector reads them. */
async function runScript(
  shell: readonly string[],
  commands: string[][],
  opts: { path?: string; wrap?: readonly string[] } = {},
): Promise<{ frames: Map<number, CommandFrame>; broken: string | null; code: number | null; ends: string[][] }> {
  const marker = `ctd-${globalThis.crypto.randomUUID()}`;
  const frames = new Map<number, CommandFrame>();
  const reader = new CommandFrameReader(marker, commands.length, (f) => frames.set(f.index, f));
  const argv = batchArgv(marker, commands);
  const full = [...(opts.wrap ?? []), ...shell, ...argv.slice(1)];
  const child = spawn(full[0]!, full.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: opts.path ?? '/usr/bin:/bin', LC_ALL: 'C' },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    reader.push(c);
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  reader.end();
  // Each frame's end line, split: marker, index, X, exit status, start and end readings of the guest clock.
  const ends = out
    .split('\n')
    .map((l) => l.split(' '))
    .filter((w) => w[2] === 'X');
  return { frames, broken: reader.broken, code, ends };
}

/** A private mount namespace to run a shell in (root's, else an unprivileged user's), or null where there is none. */
const privateMounts: string[] | null = (() => {
  const wrap = process.getuid?.() === 0 ? ['unshare', '-m', '--propagation', 'private'] : ['unshare', '-r', '-m'];
  return spawnSync(wrap[0]!, [...wrap.slice(1), 'true']).status === 0 ? wrap : null;
})();

/** BusyBox ash is the sh of Alpine guests (scripts/test-packages.txt installs it). */
const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
const shells: [string, string[] | null][] = [
  ['dash (/bin/sh)', ['/bin/sh']],
  ['bash', ['/bin/bash']],
  ['BusyBox ash', busybox ? [busybox, 'sh'] : null],
];

describe.each(shells)('the batch script run by %s', (_name, found) => {
  if (found === null) {
    test.skip('busybox is not installed here (apt-get install busybox)', () => undefined);
    return;
  }
  const shell = found;
  test('exit status, stdout and stderr apart, trailing newlines and last pieces kept, words never parsed as shell text', async () => {
    const evil = ['$(touch /tmp/ctd-batch-pwned)', '"; echo x', "'", '`id`', '*', '\\n', ' two  spaces ', ''];
    const { frames, broken } = await runScript(shell, [
      ['sh', '-c', 'echo out; echo err >&2; printf "tail\\n\\n"; exit 3'],
      ['printf', '%s|', ...evil],
      ['sh', '-c', 'printf "no newline"; printf "e1\\ne2" >&2'],
      ['ctd-no-such-program', 'x'],
    ]);
    expect(broken).toBeNull();
    expect(frames.get(1)).toMatchObject({ exitCode: 3, stdout: 'out\ntail\n\n', stderr: 'err\n' });
    expect(frames.get(2)).toMatchObject({ exitCode: 0, stdout: `${evil.join('|')}|`, stderr: '' });
    expect(frames.get(3)).toMatchObject({ exitCode: 0, stdout: 'no newline', stderr: 'e1\ne2' });
    expect(frames.get(4)?.exitCode).toBe(127);
  });

  test('a command gets only the descriptors it would get alone (stdin, stdout, stderr); the commands run at once', async () => {
    const list = 'sleep 0.3; ls /proc/$$/fd';
    // What this machine's test runner leaks to any child is the same alone and in the batch; the script adds nothing.
    const aloneFds = await new Promise<string>((resolve) => {
      const c = spawn('sh', ['-c', list], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', () => resolve(out));
    });
    const { frames, broken } = await runScript(shell, [
      ['sh', '-c', list],
      ['sh', '-c', list],
    ]);
    expect(broken).toBeNull();
    expect(aloneFds.split('\n')).toEqual(expect.arrayContaining(['0', '1', '2']));
    for (const i of [1, 2]) {
      expect(frames.get(i)?.stdout.split('\n').filter(Boolean).sort(), `frame ${i}`).toEqual(aloneFds.split('\n').filter(Boolean).sort());
      expect(frames.get(i)!.elapsedMs).toBeGreaterThanOrEqual(250);
    }
  });

  test('a function or builtin name is run as a program from PATH, never as ours', async () => {
    const { frames } = await runScript(shell, [
      ['ctd_put', 'x'],
      ['printf', 'p'],
    ]);
    expect(frames.get(1)?.exitCode).toBe(127);
    expect(frames.get(2)?.stdout).toBe('p');
  });

  test("a builtin's name runs the program of that name on PATH; any other name is found by the shell's own PATH search, as exec finds it", async () => {
    const dirs = [1, 2, 3].map((i) => mkdtempSync(join(tmpdir(), `ctd-batch-path${i}-`)));
    try {
      const [d1, d2, d3] = dirs as [string, string, string];
      const script = (path: string, text: string) => {
        writeFileSync(path, `#!/bin/sh\necho ${text}\n`);
        chmodSync(path, 0o755);
      };
      script(join(d1, 'printf'), 'the-program');
      // A directory and a file that is not executable come first on PATH: exec goes past both, and so does the search.
      mkdirSync(join(d1, 'ctd-prog'));
      writeFileSync(join(d2, 'ctd-prog'), '#!/bin/sh\necho not-executable\n');
      script(join(d3, 'ctd-prog'), 'the-third');
      const { frames, broken } = await runScript(
        shell,
        [['printf', 'the-builtin'], ['ctd-prog'], ['cat', '/proc/self/cmdline'], ['ctd-absent']],
        { path: `${d1}:${d2}:${d3}:/usr/bin:/bin` },
      );
      expect(broken).toBeNull();
      expect(frames.get(1)).toMatchObject({ exitCode: 0, stdout: 'the-program\n' });
      expect(frames.get(2)).toMatchObject({ exitCode: 0, stdout: 'the-third\n' });
      // argv[0] is the name, as exec gives it, not the path the search found (the shells drop the NUL bytes).
      expect(frames.get(3)?.stdout.replace(/\0/g, '')).toBe('cat/proc/self/cmdline');
      expect(frames.get(4)?.exitCode).toBe(127);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  test("one clock reading, taken just before the commands start, is each command's start; its end is read when it ended", async () => {
    const { frames, broken, ends } = await runScript(shell, [['sleep', '0.3'], ['true'], ['sleep', '0.1']]);
    // Marker, index, X, exit status, start reading, end reading: one start for all.
    expect(broken).toBeNull();
    expect(ends).toHaveLength(3);
    expect(new Set(ends.map((w) => w[4])).size).toBe(1);
    expect(frames.get(1)!.elapsedMs).toBeGreaterThanOrEqual(250);
    expect(frames.get(2)!.elapsedMs).toBeLessThan(250);
    expect(frames.get(3)!.elapsedMs).toBeGreaterThanOrEqual(50);
    expect(frames.get(3)!.elapsedMs).toBeLessThan(frames.get(1)!.elapsedMs);
  });

  // Needs a private mount namespace (unshare -m as root, unshare -r -m with user namespaces): skipped, and listed so, without.
  test.skipIf(privateMounts === null)(
    'without a readable /proc/uptime the clock is `date`, run once for the start and once for each end',
    async () => {
      const date = ['/usr/bin/date', '/bin/date'].find((p) => existsSync(p))!;
      const dir = mkdtempSync(join(tmpdir(), 'ctd-batch-clock-'));
      try {
        // A `date` that logs each run, first on PATH; /proc/uptime covered (in the namespace only) by a file that is no clock.
        writeFileSync(join(dir, 'date'), `#!/bin/sh\necho run >> '${dir}/log'\nexec ${date} "$@"\n`);
        chmodSync(join(dir, 'date'), 0o755);
        writeFileSync(join(dir, 'uptime'), 'no clock here\n');
        const wrap = [...(privateMounts ?? []), '/bin/sh', '-c', 'mount --bind "$0" /proc/uptime && exec "$@"', join(dir, 'uptime')];
        const { frames, broken, ends } = await runScript(shell, [['sleep', '0.2'], ['true'], ['true']], {
          path: `${dir}:/usr/bin:/bin`,
          wrap,
        });
        expect(broken).toBeNull();
        expect([...frames.keys()].sort()).toEqual([1, 2, 3]);
        expect(frames.get(1)!.elapsedMs).toBeGreaterThanOrEqual(150);
        expect(new Set(ends.map((w) => w[4])).size).toBe(1);
        expect(readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1 + 3);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
