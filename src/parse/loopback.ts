import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True for an IP literal on the loopback network (127.0.0.0/8, ::1 in any spelling, IPv4-mapped
 * ones too). A name is never loopback here, whatever it looks like: `127.attacker.example`
 * resolves wherever its owner wants.
 */
export function isLoopbackLiteral(host: string): boolean {
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}
