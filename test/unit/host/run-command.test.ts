import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killLiveChildren, letRunsOverlap, newChildScope } from '../../../src/core/live-children.js';
import path from 'node:path';
import { runCommand } from '../../../src/host/run-command.js';
import { HOST_PATH } from '../../../src/host/host-programs.js';
import { stopHostSpawnerForTests, useHostSpawner } from '../../../src/host/host-spawner.js';

/** Running, not a zombie (an orphan is reaped whenever this machine's init gets to it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// Every case twice: spawned by this process, and by the host spawner (check --all): the same answers.
describe.each(['here', 'through the host spawner'])('runCommand, spawned %s', (mode) => {
  beforeAll(() => {
    if (mode !== 'here') useHostSpawner();
  });
  afterAll(() => {
    stopHostSpawnerForTests();
  });

  it('returns the exit code and both outputs; a non-zero exit is an answer, not an exception', async () => {
    const r = await runCommand(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false, notFound: false });
    expect(r.spawnError).toBeUndefined();
  });

  it('a missing program is notFound with a one-line reason', async () => {
    const r = await runCommand(['/nonexistent/ctr-doctor-no-such-tool']);
    expect(r.notFound).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toBe('/nonexistent/ctr-doctor-no-such-tool: command not found');
  });

  it('exit status 127 (a shell or chroot that could not find the program) is notFound too', async () => {
    expect((await runCommand(['sh', '-c', 'exit 127'])).notFound).toBe(true);
  });

  it('kills a command that outlives its timeout', async () => {
    const started = performance.now();
    const r = await runCommand(['sleep', '30'], { timeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r).toMatchObject({ timedOut: true, exitCode: null });
    expect(r.spawnError).toBeUndefined();
  });

  it('gives every host program exactly the fixed host environment, whatever ours holds (C1)', async () => {
    process.env.LD_PRELOAD_CTD_TEST = 'x';
    try {
      const r = await runCommand(['/usr/bin/env']);
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([`LC_ALL=C`, `PATH=${HOST_PATH}`]);
    } finally {
      delete process.env.LD_PRELOAD_CTD_TEST;
    }
  });

  it('looks a bare name up in HOST_PATH only, never through our PATH (C1)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-path-'));
    const marker = path.join(dir, 'ran');
    writeFileSync(path.join(dir, 'ctd-planted-tool'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved ?? ''}`;
    try {
      const r = await runCommand(['ctd-planted-tool']);
      expect(r).toMatchObject({ notFound: true, spawnError: 'ctd-planted-tool: command not found' });
      expect(existsSync(marker)).toBe(false);
      expect(await runCommand(['relative/tool'])).toMatchObject({ notFound: true });
    } finally {
      process.env.PATH = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns promptly, failed, when a grandchild keeps its stdout open (M5)', async () => {
    const started = performance.now();
    const r = await runCommand(['sh', '-c', 'sleep 30 & exit 0'], { timeoutMs: 10_000 });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toMatch(/left processes running; they were killed/);
  });

  it('returns promptly, failed, when a grandchild in another session keeps its stdout open (M5)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-held-'));
    const pidFile = path.join(dir, 'pid');
    try {
      const started = performance.now();
      // setsid leaves our process group: only the drain grace can stop the wait.
      const r = await runCommand(
        [
          'sh',
          '-c',
          'setsid sh -c \'echo $$ > "$1"; exec sleep 30\' sh "$1" & while [ ! -s "$1" ]; do sleep 0.01; done; sleep 0.05; exit 0',
          'sh',
          pidFile,
        ],
        { timeoutMs: 10_000 },
      );
      expect(performance.now() - started).toBeLessThan(2000);
      expect(r.exitCode).toBeNull();
      expect(r.spawnError).toMatch(/kept its output open/);
    } finally {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        /* gone */
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves nothing of its process group running, whether it exits or times out (M5)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-group-'));
    try {
      const pidFile = path.join(dir, 'pid');
      const exited = await runCommand(['sh', '-c', 'sleep 30 & echo $! > "$1"; exit 0', 'sh', pidFile], { timeoutMs: 10_000 });
      expect(exited).toMatchObject({ timedOut: false, exitCode: null });
      await new Promise((r) => setTimeout(r, 50));
      expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);

      const started = performance.now();
      const timed = await runCommand(['sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', pidFile], { timeoutMs: 200 });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(timed).toMatchObject({ timedOut: true, exitCode: null });
      await new Promise((r) => setTimeout(r, 50));
      expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes descriptors as fd 3 and on', async () => {
    // A file of the test's own: nothing of this machine (such as /etc/hostname) is read.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-passfd-'));
    const file = path.join(dir, 'passed');
    writeFileSync(file, 'passed as fd 3\n');
    const fd = openSync(file, 'r');
    try {
      const r = await runCommand(['sh', '-c', 'cat <&3'], { passFds: [fd] });
      expect(r.stdout).toBe('passed as fd 3\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('feeds `input` on stdin, and ignores a command that does not read it', async () => {
    expect((await runCommand(['cat'], { input: 'hello\n' })).stdout).toBe('hello\n');
    expect((await runCommand(['true'], { input: 'x'.repeat(1 << 20) })).exitCode).toBe(0);
  });

  it('keeps multi-byte characters whole across chunks', async () => {
    const r = await runCommand(['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do printf "é"; i=$((i+1)); done']);
    expect(r.stdout).toBe('é'.repeat(20000));
  });

  it('kills a command that prints more than 4 MiB and says so', async () => {
    const r = await runCommand(['head', '-c', String(8 * 1024 * 1024), '/dev/zero'], { timeoutMs: 10_000 });
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toMatch(/printed more than 4194304 bytes/);
    expect(r.stdout.length).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('an empty argv is refused without starting anything', async () => {
    expect(await runCommand([])).toMatchObject({ notFound: true, spawnError: 'empty command' });
  });

  it('an argument with a NUL byte is refused with a one-line reason', async () => {
    const r = await runCommand(['echo', 'a\0b']);
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toMatch(/null bytes/);
  });

  it('runs in `cwd`', async () => {
    expect((await runCommand(['pwd'], { cwd: '/tmp' })).stdout).toBe('/tmp\n');
  });
});

describe('the host spawner (check --all)', () => {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  const dist = (m: string) => JSON.stringify(path.join(repo, 'dist/src', m));

  beforeAll(() => {
    useHostSpawner();
  });
  afterAll(() => {
    stopHostSpawnerForTests();
  });

  it('starts commands itself, not off this process, and in our descriptor when cwd is /proc/self/fd/N', async () => {
    const ppid = Number((await runCommand(['sh', '-c', 'echo $PPID'])).stdout);
    expect(ppid).not.toBe(process.pid);
    expect(readFileSync(`/proc/${ppid}/comm`, 'utf8').trim()).toBe('ctr-doctor-spaw');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-cwdfd-'));
    const fd = openSync(dir, 0o10000000 | 0o200000);
    try {
      expect((await runCommand(['pwd', '-P'], { cwd: `/proc/self/fd/${fd}` })).stdout).toBe(`${dir}\n`);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('what it starts inherits only stdin, stdout and stderr, whatever our parent left open; and it does not keep node alive', () => {
    const script = `import { useHostSpawner, commandsInheritOnlyStdio } from ${dist('host/host-spawner.js')};
import { runCommand } from ${dist('host/run-command.js')};
useHostSpawner();
const r = await runCommand(['sh', '-c', 'ls /proc/$$/fd']);
console.log(JSON.stringify({ fds: r.stdout.trim().split('\\n'), inheritsOnlyStdio: commandsInheritOnlyStdio() }));`;
    const leaked = openSync('/dev/null', 'r');
    const started = performance.now();
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), leaked],
      encoding: 'utf8',
      timeout: 10_000,
    });
    closeSync(leaked);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ fds: ['0', '1', '2'], inheritsOnlyStdio: true });
    // The idle spawner holds no reference: node ends on its own (the spawner follows when its stdin closes).
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a run killing its children kills the ones the spawner started, not the spawner', async () => {
    letRunsOverlap();
    const started = performance.now();
    const scope = newChildScope();
    const r = await (async () => {
      const pending = runCommand(['sleep', '30'], { timeoutMs: 20_000, scope });
      await new Promise((res) => setTimeout(res, 200));
      expect(killLiveChildren(scope)).toBe(1);
      return pending;
    })();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r.exitCode).toBeNull();
  });

  it('a spawner that dies takes its commands with it, reported; the next command gets a fresh spawner', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-spawner-'));
    const pidFile = path.join(dir, 'pid');
    try {
      const pending = runCommand(['sh', '-c', 'echo $PPID > "$1"; exec sleep 30', 'sh', pidFile], { timeoutMs: 20_000 });
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8') === '') await new Promise((res) => setTimeout(res, 20));
      const spawnerPid = Number(readFileSync(pidFile, 'utf8'));
      process.kill(spawnerPid, 'SIGKILL');
      const r = await pending;
      expect(r.exitCode).toBeNull();
      const again = await runCommand(['sh', '-c', 'echo $PPID']);
      expect(again.exitCode).toBe(0);
      expect(Number(again.stdout)).not.toBe(spawnerPid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
