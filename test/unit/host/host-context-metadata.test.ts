import { chmodSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostContext } from '../../../src/host/host-context.js';

describe("HostContext's metadata, read once per run", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ctd-hostmeta-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers stat, lstat, readlink and realpath as the run first saw the path; a new context reads afresh', async () => {
    const file = path.join(dir, 'f');
    const link = path.join(dir, 'l');
    writeFileSync(file, 'x');
    chmodSync(file, 0o600);
    symlinkSync('f', link);
    const run = new HostContext({ invokingEnv: {} });
    const first = await run.stat(file);
    expect(first?.mode && first.mode & 0o777).toBe(0o600);
    expect((await run.lstat(link))?.type).toBe('symlink');
    expect(await run.readlink(link)).toBe('f');
    expect(await run.realpath(link)).toBe(file);

    chmodSync(file, 0o644);
    unlinkSync(link);
    // The same run: the same answers (the very same object for stat), whatever changed since.
    expect(await run.stat(file)).toBe(first);
    expect((await run.lstat(link))?.type).toBe('symlink');
    expect(await run.readlink(link)).toBe('f');
    expect(await run.realpath(link)).toBe(file);

    const next = new HostContext({ invokingEnv: {} });
    expect(((await next.stat(file))?.mode ?? 0) & 0o777).toBe(0o644);
    expect(await next.lstat(link)).toBeNull();
    expect(await next.readlink(link)).toBeNull();
    expect(await next.realpath(link)).toBeNull();
  });

  it('shares frozen answers, so that no check can change what another is told', async () => {
    const run = new HostContext({ invokingEnv: {} });
    const s = await run.stat(dir);
    expect(s?.type).toBe('directory');
    expect(Object.isFrozen(s)).toBe(true);
    expect(() => {
      (s as { mode: number }).mode = 0;
    }).toThrow(TypeError);
  });

  it('keeps a missing path and its later creation apart only between runs', async () => {
    const file = path.join(dir, 'later');
    const run = new HostContext({ invokingEnv: {} });
    expect(await run.stat(file)).toBeNull();
    writeFileSync(file, '');
    expect(await run.stat(file)).toBeNull();
    expect((await new HostContext({ invokingEnv: {} }).stat(file))?.type).toBe('file');
  });

  it('readFileOnce answers as the run first read the file, per cap; readFile and a new context read afresh', async () => {
    const file = path.join(dir, 'group');
    writeFileSync(file, 'root:x:0:\nvideo:x:44:alice\n');
    const run = new HostContext({ invokingEnv: {} });
    expect(await run.readFileOnce(file)).toBe('root:x:0:\nvideo:x:44:alice\n');
    expect(await run.readFileOnce(file, { maxBytes: 4 })).toBe('root');
    writeFileSync(file, 'changed\n');
    expect(await run.readFileOnce(file)).toBe('root:x:0:\nvideo:x:44:alice\n');
    expect(await run.readFileOnce(file, { maxBytes: 4 })).toBe('root');
    expect(await run.readFile(file)).toBe('changed\n');
    expect(await new HostContext({ invokingEnv: {} }).readFileOnce(file)).toBe('changed\n');
    expect(await run.readFileOnce(path.join(dir, 'missing'))).toBeNull();
  });

  it('reads files and directories afresh (a fix reads the mount table again in the same run)', async () => {
    const file = path.join(dir, 'text');
    writeFileSync(file, 'one');
    const run = new HostContext({ invokingEnv: {} });
    expect(await run.readFile(file)).toBe('one');
    expect(await run.readdir(dir)).toEqual(['text']);
    writeFileSync(file, 'two');
    writeFileSync(path.join(dir, 'more'), '');
    expect(await run.readFile(file)).toBe('two');
    expect((await run.readdir(dir))?.sort()).toEqual(['more', 'text']);
  });
});
