import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { gatherResolvedFacts } from '../../../src/checks/dns/resolved-facts.js';
import { FakeTarget, fakeContext } from '../support/fake-target.js';
import { FakeHost } from '../support/fake-host.js';

const target = new FakeTarget({ files: { '/etc/nsswitch.conf': 'hosts: files resolve dns\n' } });
afterAll(() => rmSync(target.root, { recursive: true, force: true }));

describe('gatherResolvedFacts, shared by dns.stub and dns.resolve', () => {
  it('gathers once per guest and host context, and hands out frozen facts', async () => {
    const host = new FakeHost();
    const [a, b] = await Promise.all([
      gatherResolvedFacts(fakeContext(target, {}, host)),
      gatherResolvedFacts(fakeContext(target, {}, host)),
    ]);
    expect(b).toBe(a);
    expect(a.nsswitch?.line).toBe('hosts: files resolve dns');
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.nsswitch?.services)).toBe(true);
    expect(() => (a.guest as number[]).push(1)).toThrow(TypeError);
  });

  it('gathers afresh for another host context (a fix re-check) or another guest', async () => {
    const first = await gatherResolvedFacts(fakeContext(target, {}, new FakeHost()));
    const again = await gatherResolvedFacts(fakeContext(target, {}, new FakeHost()));
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    const other = new FakeTarget({ files: { '/etc/nsswitch.conf': 'hosts: files\n' } });
    try {
      expect((await gatherResolvedFacts(fakeContext(other, {}, new FakeHost()))).nsswitch?.line).toBe('hosts: files');
    } finally {
      rmSync(other.root, { recursive: true, force: true });
    }
  });
});
