import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { assertOutputWritable, withOutputFile, writeFileAtomic } from '../../../src/cli/output-file.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import type { CliIo } from '../../../src/cli/io.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctd-output-'));
});
afterEach(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

function io(): CliIo & { said: () => string } {
  let said = '';
  const out = new Writable({
    write(c: Buffer, _e, done) {
      said += c.toString();
      done();
    },
  });
  return { out, err: out, env: {}, isTty: true, stdinIsTty: false, width: 80, color: () => true, said: () => said };
}

describe('writeFileAtomic', () => {
  test('replaces the file whole, mode 0644 whatever the umask, and leaves no temp file', () => {
    const file = join(dir, 'ctr-doctor.prom');
    writeFileSync(file, 'old\n', { mode: 0o600 });
    const umask = process.umask(0o077);
    try {
      writeFileAtomic(file, 'new ✓\n');
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(file, 'utf8')).toBe('new ✓\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['ctr-doctor.prom']);
  });

  test('replaces a symlink at FILE rather than writing through it', () => {
    const elsewhere = join(dir, 'elsewhere');
    writeFileSync(elsewhere, 'keep\n');
    symlinkSync(elsewhere, join(dir, 'link.prom'));
    writeFileAtomic(join(dir, 'link.prom'), 'x\n');
    expect(readFileSync(elsewhere, 'utf8')).toBe('keep\n');
    expect(readFileSync(join(dir, 'link.prom'), 'utf8')).toBe('x\n');
  });

  test('an unwritable directory is one UsageError line, and nothing is left behind', () => {
    // Root may write any mode-0555 directory, but nobody creates files in /proc.
    const unwritable = process.getuid?.() === 0 ? '/proc' : dir;
    chmodSync(dir, 0o555);
    // /proc's numeric entries come and go with every process the parallel unit tests start: compare the rest.
    const entries = () => readdirSync(unwritable).filter((e) => !/^\d+$/.test(e));
    const before = entries();
    expect(() => writeFileAtomic(join(unwritable, 'ctd-x.prom'), 'x')).toThrow(UsageError);
    expect(() => writeFileAtomic(join(unwritable, 'ctd-x.prom'), 'x')).toThrow(
      /^cannot write --output \S+: \S+ is not writable \([A-Z]+\)$/,
    );
    expect(entries()).toEqual(before);
  });
});

describe('assertOutputWritable', () => {
  test.each([
    ['', /needs a FILE/],
    ['/nonexistent-ctd/x.prom', /\/nonexistent-ctd does not exist/],
  ])('%j is refused before any check runs', (file, message) => {
    expect(() => assertOutputWritable(file)).toThrow(message);
  });

  test('a directory, or a parent that is a file, is refused with a one-line reason', () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'plain'), '');
    expect(() => assertOutputWritable(join(dir, 'sub'))).toThrow(/it is a directory/);
    expect(() => assertOutputWritable(join(dir, 'plain', 'x.prom'))).toThrow(/is not a directory/);
    for (const f of [join(dir, 'sub'), join(dir, 'plain', 'x.prom')]) {
      try {
        assertOutputWritable(f);
      } catch (e) {
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });
});

describe('withOutputFile', () => {
  test('the report goes to the file, not to stdout, and the command sees no terminal and no colour', async () => {
    const file = join(dir, 'r.txt');
    const real = io();
    const code = await withOutputFile(file, real, async (inner) => {
      inner.out.write(`tty=${inner.isTty} color=${inner.color(true)}\n`);
      return 1;
    });
    expect(code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('tty=false color=false\n');
    expect(real.said()).toBe('');
  });

  test('exit code 2 (no report made) leaves the previous file as it was', async () => {
    const file = join(dir, 'r.prom');
    writeFileSync(file, 'previous\n');
    expect(
      await withOutputFile(file, io(), async (inner) => {
        inner.out.write('partial');
        return 2;
      }),
    ).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('previous\n');
  });
});
