import { splitLines } from './text-lines.js';

/**
 * Pure readers for the per-network-namespace files under /proc/net (read from inside the
 * namespace: /proc/net follows the reader's namespace, not the file's owner).
 */

/** Interface names from /proc/net/dev, in file order. */
export function parseProcNetDevNames(text: string): string[] {
  const names: string[] = [];
  for (const { text: line } of splitLines(text)) {
    const m = /^\s*([^\s:|]+):/.exec(line);
    if (m?.[1] !== undefined) names.push(m[1]);
  }
  return names;
}

/** True when /proc/net/route has an IPv4 default route (destination and mask 0) that is up. */
export function hasIpv4DefaultRoute(routeText: string): boolean {
  return splitLines(routeText).some(({ text }) => {
    const f = text.trim().split(/\s+/);
    // Iface Destination Gateway Flags RefCnt Use Metric Mask …; flag 0x1 is RTF_UP.
    return f.length >= 8 && f[1] === '00000000' && f[7] === '00000000' && (parseInt(f[3] ?? '0', 16) & 1) === 1;
  });
}

/** True when /proc/net/ipv6_route has a default route (::/0) on an interface other than lo. */
export function hasIpv6DefaultRoute(routeText: string): boolean {
  return splitLines(routeText).some(({ text }) => {
    const f = text.trim().split(/\s+/);
    return f.length >= 10 && /^0{32}$/.test(f[0] ?? '') && f[1] === '00' && f[9] !== 'lo';
  });
}

/** A socket bound in /proc/net/udp or udp6. */
export interface UdpSocket {
  address: string;
  port: number;
  /** The socket's inode (`socket:[N]` in /proc/PID/fd), or null when the line has none. */
  inode: number | null;
}

function ipv4FromHex(hex: string): string {
  // The kernel prints the address as one little-endian 32-bit word.
  const bytes = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return bytes.join('.');
}

function ipv6FromHex(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = [6, 4, 2, 0].map((i) => word.slice(i, i + 2)).join('');
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  // The URL parser prints IPv6 hosts in canonical (RFC 5952) form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Local addresses of the UDP sockets in /proc/net/udp (IPv4) or /proc/net/udp6. Malformed lines are skipped. */
export function parseProcNetUdp(text: string): UdpSocket[] {
  const out: UdpSocket[] = [];
  for (const { text: line } of splitLines(text)) {
    const m = /^\s*\d+:\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const address = m[1].length === 8 ? ipv4FromHex(m[1]) : ipv6FromHex(m[1]);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
    const inode = Number(line.trim().split(/\s+/)[9]);
    out.push({ address, port: parseInt(m[2], 16), inode: Number.isInteger(inode) && inode > 0 ? inode : null });
  }
  return out;
}

/** Whether a socket bound to `bound` receives packets for `address` (a wildcard bind does). */
export function udpBindCovers(bound: string, address: string): boolean {
  // A `::` socket is dual-stack unless IPV6_V6ONLY, which /proc does not show: count it.
  return bound === address || bound === '0.0.0.0' || bound === '::';
}
