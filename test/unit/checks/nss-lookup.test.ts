/** guestNssModules over a FakeTarget: which NSS modules a guest has, and which library files are looked for. */
import { afterEach, describe, expect, it } from 'vitest';
import { guestNssModules } from '../../../src/checks/nss-lookup.js';
import { FakeTarget } from '../support/fake-target.js';

let target: FakeTarget | null = null;
afterEach(() => {
  target?.dispose();
  target = null;
});

/** A FakeTarget that records the guest paths stat() is asked about. */
function recording(files: Record<string, string>): { target: FakeTarget; statted: string[] } {
  const t = new FakeTarget({ files });
  const statted: string[] = [];
  const stat = t.stat.bind(t);
  t.stat = (p, o) => {
    statted.push(p);
    return stat(p, o);
  };
  target = t;
  return { target: t, statted };
}

describe('guestNssModules', () => {
  it("finds a module's library in a multiarch directory, and says a missing one is missing", async () => {
    const { target: t } = recording({
      '/usr/lib/x86_64-linux-gnu/libnss_myhostname.so.2': 'ELF',
      '/usr/lib/x86_64-linux-gnu/libc.so.6': 'ELF',
    });
    expect(await guestNssModules(t, ['myhostname', 'resolve', 'bad/name'])).toEqual({
      myhostname: true,
      resolve: false,
      'bad/name': false,
    });
  });

  it("takes glibc's built-in files and dns as present without looking for their libraries", async () => {
    const { target: t, statted } = recording({ '/usr/lib/x86_64-linux-gnu/libc.so.6': 'ELF' });
    expect(await guestNssModules(t, ['files', 'dns', 'mymachines'])).toEqual({ files: true, dns: true, mymachines: false });
    expect(statted.some((p) => p.includes('libnss_mymachines.so.2'))).toBe(true);
    expect(statted.filter((p) => /libnss_(files|dns)\./.test(p))).toEqual([]);
  });
});
