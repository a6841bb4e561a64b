import { describe, expect, it } from 'vitest';
import { runCommand } from '../../../src/guest/run-command.js';

describe('runCommand', () => {
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

  it('passes exactly `env` unless asked to extend ours', async () => {
    const exact = await runCommand(['/usr/bin/env'], { env: { ONLY: 'this' }, extendEnv: false });
    expect(exact.stdout).toBe('ONLY=this\n');
    const extended = await runCommand(['/usr/bin/env'], { env: { EXTRA: 'x' }, extendEnv: true });
    expect(extended.stdout).toContain('EXTRA=x\n');
    expect(extended.stdout).toContain(`PATH=${process.env.PATH}`);
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
