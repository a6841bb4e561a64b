/** firstBytes: a default-capped read cut to 64 KiB reads as a read capped at 64 KiB (dns.* share nsswitch.conf's read). */
import { afterEach, describe, expect, it } from 'vitest';
import { firstBytes } from '../../../src/checks/dns/resolved-facts.js';
import { FakeTarget } from '../support/fake-target.js';

let target: FakeTarget | null = null;
afterEach(() => {
  target?.dispose();
  target = null;
});

describe('firstBytes', () => {
  it.each([
    ['a small file', 'hosts: files dns\n'],
    // "é" is two bytes: one straddles the cut.
    ['a long file cut inside a character', `${'#'.repeat(64 * 1024 - 1)}é\nhosts: files\n`],
    ['a long file cut at a line', `${'# c\n'.repeat(20_000)}hosts: files dns\n`],
  ])('%s', async (_name, text) => {
    target = new FakeTarget({ files: { '/etc/nsswitch.conf': text } });
    const whole = await target.readFile('/etc/nsswitch.conf');
    const capped = await target.readFile('/etc/nsswitch.conf', { maxBytes: 64 * 1024 });
    if (!whole.ok || !capped.ok) throw new Error('the fake file did not read');
    expect(firstBytes(whole, 64 * 1024)).toBe(capped.text);
  });
});
