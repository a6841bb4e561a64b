import { describe, expect, it } from 'vitest';
import {
  hasIpv4DefaultRoute,
  hasIpv6DefaultRoute,
  parseProcNetDevNames,
  parseProcNetUdp,
  udpBindCovers,
} from '../../../src/parse/proc-net.js';

// Lines captured from this machine's /proc/net files.
describe('proc-net readers', () => {
  it('reads UDP sockets, IPv4 and IPv6, little-endian', () => {
    const udp =
      '   sl  local_address rem_address   st tx_queue\n  12: 3500007F:0035 00000000:0000 07 00000000:00000000\n  13: 00000000:14E9 00000000:0000 07\n';
    const udp6 =
      '  sl  local_address                         remote_address\n   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07\n   1: B80D0120000053000000000053000000:0035 0000:0000 07\n';
    expect(parseProcNetUdp(udp + udp6)).toEqual([
      { address: '127.0.0.53', port: 53, inode: null },
      { address: '0.0.0.0', port: 5353, inode: null },
      { address: '::1', port: 53, inode: null },
      { address: '2001:db8:53::53', port: 53, inode: null },
    ]);
    // The inode is the tenth column: what /proc/PID/fd shows as socket:[N].
    const full =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n 1370: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   991        0 25873 2 0000000000000000 0\n';
    expect(parseProcNetUdp(full)).toEqual([{ address: '127.0.0.53', port: 53, inode: 25873 }]);
    expect(parseProcNetUdp('garbage\n  1: ZZ:0035\n')).toEqual([]);
  });

  it('a wildcard bind covers every address', () => {
    expect(udpBindCovers('0.0.0.0', '127.0.0.53')).toBe(true);
    expect(udpBindCovers('127.0.0.1', '127.0.0.53')).toBe(false);
    expect(udpBindCovers('::', '::1')).toBe(true);
  });

  it('finds default routes and interface names', () => {
    expect(
      hasIpv4DefaultRoute(
        'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n',
      ),
    ).toBe(true);
    expect(
      hasIpv4DefaultRoute(
        'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n',
      ),
    ).toBe(false);
    expect(
      hasIpv6DefaultRoute(
        '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n',
      ),
    ).toBe(true);
    expect(
      hasIpv6DefaultRoute(
        '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n',
      ),
    ).toBe(false);
    expect(parseProcNetDevNames('Inter-|   Receive\n face |bytes\n    lo:   1 2\n  ctdabcg: 3 4\n')).toEqual(['lo', 'ctdabcg']);
  });
});
