import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNspawnArgs, type NspawnArgs } from '../../../src/parse/nspawn-args.js';

describe('parseNspawnArgs', () => {
  it.each<[string[], Partial<NspawnArgs>]>([
    [['-M', 'web'], { machine: 'web', effectiveMachine: 'web' }],
    [['-Mweb'], { machine: 'web' }],
    [['--machine=web'], { machine: 'web' }],
    [['--machine', 'web'], { machine: 'web' }],
    [['-D', '/var/lib/machines/deb12/'], { directory: '/var/lib/machines/deb12/', effectiveMachine: 'deb12', machine: null }],
    [['--directory=/srv/g'], { directory: '/srv/g', effectiveMachine: 'g' }],
    [['-i', '/images/fedora.raw'], { image: '/images/fedora.raw', effectiveMachine: 'fedora' }],
    [['-b', '-D', '/g'], { boot: true, directory: '/g' }],
    [['--boot'], { boot: true }],
    [['-bD', '/g'], { boot: true, directory: '/g' }],
    [['-bnD', '/g'], { boot: true, networkVeth: true, privateNetwork: true, directory: '/g' }],
    [['-bD/g'], { boot: true, directory: '/g' }],
    [['-n'], { networkVeth: true, privateNetwork: true }],
    [['--private-network'], { privateNetwork: true, networkVeth: false }],
    [['--network-veth'], { networkVeth: true, privateNetwork: true }],
    [['--network-namespace-path=/run/netns/x'], { networkNamespacePath: '/run/netns/x', privateNetwork: false }],
    [['--network-bridge=br0'], { networkBridge: 'br0', networkVeth: true, privateNetwork: true }],
    [['--network-zone', 'z'], { networkZone: 'z', networkVeth: true }],
    [['--network-macvlan=eth0'], { privateNetwork: true, networkVeth: false }],
    [['--resolv-conf=bind-host'], { resolvConf: 'bind-host' }],
    [['--keep-unit', '--register=no'], { keepUnit: true, register: false }],
    [['--register', 'yes'], { register: true }],
    [['-u', 'alice'], { user: 'alice' }],
    [['--user=alice'], { user: 'alice' }],
    [['-D', '/g', '--', '-b'], { directory: '/g', boot: false, rest: ['-b'] }],
    [['-D', '/g', '/bin/bash', '-l'], { rest: ['/bin/bash', '-l'] }],
    [['/usr/bin/systemd-nspawn', '-M', 'x'], { machine: 'x', rest: [] }],
    [['--quiet', '-q', '--slice', 's.slice', '-p', '80', '-D', '/g'], { directory: '/g', rest: [] }],
    [['--volatile', '-D', '/g'], { directory: '/g' }],
    [['-D'], { directory: '', effectiveMachine: null }],
    [[], { machine: null, effectiveMachine: null, directory: null, register: null }],
  ])('parses %j', (argv, want) => {
    expect(parseNspawnArgs(argv)).toMatchObject(want);
  });

  it('collects -E and --setenv, skipping names without a value', () => {
    expect({ ...parseNspawnArgs(['-E', 'A=1', '--setenv=B=x=y', '-E', 'NOVALUE', '-EC=3']).setenv }).toEqual({ A: '1', B: 'x=y', C: '3' });
  });

  it.each<[string[], NspawnArgs['binds']]>([
    [['--bind=/run/user/1000/pulse:/run/user/pulse'], [{ source: '/run/user/1000/pulse', dest: '/run/user/pulse', readOnly: false }]],
    [['--bind-ro=/etc/hosts'], [{ source: '/etc/hosts', dest: '/etc/hosts', readOnly: true }]],
    [['--bind', '/a:/b:rbind'], [{ source: '/a', dest: '/b', readOnly: false }]],
    [['--bind=/we\\:ird:/x'], [{ source: '/we:ird', dest: '/x', readOnly: false }]],
    [['--bind=+/rel'], [{ source: '+/rel', dest: '/rel', readOnly: false }]],
  ])('reads the bind %j', (argv, binds) => {
    expect(parseNspawnArgs(argv).binds).toEqual(binds);
  });
});

describe('nspawn properties', () => {
  const word = fc.oneof(
    fc.constantFrom('-b', '-n', '-D', '-M', '-bnD', '--bind', '--bind=', '--', '-E', '--register', '--machine', '--setenv=__proto__=1'),
    fc.string(),
  );

  it('never throws and the rest is a suffix of argv', () => {
    fc.assert(
      fc.property(fc.array(word, { maxLength: 10 }), (argv) => {
        const a = parseNspawnArgs(argv);
        expect(argv.slice(argv.length - a.rest.length)).toEqual(a.rest);
        if (a.machine) expect(a.effectiveMachine).toBe(a.machine);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back --machine and -D in any order', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
    fc.assert(
      fc.property(name, name, fc.boolean(), (m, d, swap) => {
        const parts = [['-M', m], [`--directory=/var/lib/machines/${d}`]];
        const a = parseNspawnArgs((swap ? parts.reverse() : parts).flat());
        expect([a.machine, a.directory, a.effectiveMachine]).toEqual([m, `/var/lib/machines/${d}`, m]);
      }),
      { numRuns: 300 },
    );
  });
});
