import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePing, type PingOutcome } from '../../../src/parse/ping-output.js';

// Captured from iputils 20221126 inside throwaway network namespaces.
const OK = `PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.073 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.054 ms

--- 127.0.0.1 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 201ms
rtt min/avg/max/mdev = 0.054/0.063/0.073/0.009 ms
`;
const LOSS = `PING 10.98.0.2 (10.98.0.2) 56(84) bytes of data.

--- 10.98.0.2 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 327ms

`;
const HOST_UNREACHABLE = `PING 10.98.0.2 (10.98.0.2) 56(84) bytes of data.
From 10.98.0.1 icmp_seq=1 Destination Host Unreachable

--- 10.98.0.2 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms

`;
const BUSYBOX = `PING 192.0.2.1 (192.0.2.1): 56 data bytes
64 bytes from 192.0.2.1: seq=0 ttl=64 time=1.234 ms

--- 192.0.2.1 ping statistics ---
1 packets transmitted, 1 packets received, 0% packet loss
round-trip min/avg/max = 1.234/1.234/1.234 ms
`;

describe('parsePing', () => {
  it.each<[string, string, string, number | null, Partial<PingOutcome>]>([
    [
      'success',
      OK,
      '',
      0,
      { transmitted: 2, received: 2, lossPercent: 0, rttMs: { min: 0.054, avg: 0.063, max: 0.073 }, error: null, message: null },
    ],
    ['plain loss', LOSS, '', 1, { transmitted: 2, received: 0, lossPercent: 100, rttMs: null, error: null }],
    [
      'host unreachable',
      HOST_UNREACHABLE,
      '',
      1,
      { received: 0, error: 'unreachable', message: 'From 10.98.0.1 icmp_seq=1 Destination Host Unreachable' },
    ],
    ['busybox', BUSYBOX, '', 0, { transmitted: 1, received: 1, rttMs: { min: 1.234, avg: 1.234, max: 1.234 }, error: null }],
    [
      'no route (real)',
      '',
      'ping: connect: Network is unreachable\n',
      2,
      { error: 'no-route', message: 'ping: connect: Network is unreachable', transmitted: null },
    ],
    ['no address (real, lo down)', '', 'ping: connect: Cannot assign requested address\n', 2, { error: 'no-route' }],
    ['dns failure (real)', '', 'ping: nosuchhost.invalid: Temporary failure in name resolution\n', 2, { error: 'unknown-host' }],
    ['unknown host', '', 'ping: example: Name or service not known\n', 2, { error: 'unknown-host' }],
    ['busybox bad address', '', "ping: bad address 'example'\n", 1, { error: 'unknown-host' }],
    ['no socket', '', 'ping: socket: Operation not permitted\n', 2, { error: 'permission' }],
    [
      'raw socket',
      '',
      'ping: socktype: SOCK_RAW\nping: socket: Operation not permitted\nping: => missing cap_net_raw+p capability or setuid?\n',
      2,
      { error: 'permission', message: 'ping: socket: Operation not permitted' },
    ],
    ['icmp socket', '', 'ping: icmp open socket: Operation not permitted\n', 2, { error: 'permission' }],
    ['permission denied', '', 'ping: socket: Permission denied\n', 2, { error: 'permission' }],
    [
      'firewall',
      'PING x\n',
      'ping: sendmsg: Operation not permitted\n',
      1,
      { error: 'other', message: 'ping: sendmsg: Operation not permitted' },
    ],
    ['killed', '', '', null, { error: 'other', message: 'ping did not exit (killed or timed out)' }],
    ['not installed', '', 'sh: 1: ping: not found\n', 127, { error: 'other', message: 'sh: 1: ping: not found' }],
  ])('%s', (_t, stdout, stderr, rc, want) => {
    expect(parsePing(stdout, stderr, rc)).toMatchObject(want);
  });

  it('does not call it unreachable when some replies came back', () => {
    const mixed =
      'From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\n';
    expect(parsePing(mixed, '', 0)).toMatchObject({ error: null, received: 2, lossPercent: 33.3333 });
  });
});

describe('ping properties', () => {
  it('never throws and keeps counts consistent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), fc.option(fc.integer()), (o, e, rc) => {
        const r = parsePing(o, e, rc);
        expect(r.transmitted === null).toBe(r.received === null);
        expect(r.error === null).toBe(r.message === null);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back generated statistics', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), (tx, rx) => {
        const r = parsePing(`${tx} packets transmitted, ${rx} received, 0% packet loss, time 1ms\n`, '', 0);
        expect([r.transmitted, r.received]).toEqual([tx, rx]);
      }),
      { numRuns: 300 },
    );
  });
});
