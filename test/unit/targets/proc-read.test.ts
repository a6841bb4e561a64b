import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCappedSync, streamLinesSync } from '../../../src/host/proc-read.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-procread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capped /proc reads (audit M4)', () => {
  it('reads no more than the cap and says it cut', () => {
    const f = path.join(dir, 'big');
    writeFileSync(f, Buffer.alloc(300 * 1024, 'a'));
    const r = readCappedSync(f, 64 * 1024)!;
    expect(r.bytes.length).toBe(64 * 1024);
    expect(r.truncated).toBe(true);
  });
  it('a file of exactly the cap is whole', () => {
    const f = path.join(dir, 'exact');
    writeFileSync(f, Buffer.alloc(1000, 'b'));
    expect(readCappedSync(f, 1000)).toMatchObject({ truncated: false });
    expect(readCappedSync(f, 1000)!.bytes.length).toBe(1000);
  });
  it('/proc files (size 0 to stat) are read whole', () => {
    const r = readCappedSync('/proc/self/status', 16 * 1024)!;
    expect(r.bytes.toString()).toMatch(/^Name:/);
    expect(r.truncated).toBe(false);
  });
  it('null for what cannot be opened', () => {
    expect(readCappedSync(path.join(dir, 'missing'), 10)).toBeNull();
  });
  it('streams lines across chunk boundaries and stops at the byte limit', () => {
    const f = path.join(dir, 'lines');
    writeFileSync(f, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const lines: string[] = [];
    expect(streamLinesSync(f, (l) => lines.push(l), 7)).toBeNull();
    expect(lines).toHaveLength(1000);
    expect(lines[999]).toBe('line 999');
    const few: string[] = [];
    streamLinesSync(f, (l) => few.push(l), 16, 64);
    expect(few.length).toBeLessThan(10);
    expect(streamLinesSync(path.join(dir, 'missing'), () => {})).toBe('ENOENT');
  });
});

describe('holders keep only paths off the root mount', () => {
  it('drops libraries on /, keeps what lies on another mount, the mount point itself included', async () => {
    const { offRootMount } = await import('../../../src/host/mount-holders.js');
    const keep = offRootMount([{ mountPoint: '/' }, { mountPoint: '/srv/g/proc' }, { mountPoint: '/dev' }] as never);
    expect(['/usr/lib/libc.so.6', '/srv/g/etc/passwd', '/srv/g/proc', '/srv/g/proc/1/maps', '/dev/null', '/devx'].filter(keep)).toEqual([
      '/srv/g/proc',
      '/srv/g/proc/1/maps',
      '/dev/null',
    ]);
  });
});
