import { isIPv6 } from 'node:net';

/** PulseAudio's native protocol port. */
export const PULSE_DEFAULT_PORT = 4713;

/**
 * One server from `PULSE_SERVER`. `machineId` is the `{id}` prefix: libpulse only tries such an
 * entry on the machine with that id (`/etc/machine-id`), which often differs inside a container.
 */
export type PulseServerEntry =
  { kind: 'unix'; path: string; machineId?: string } | { kind: 'tcp'; host: string; port: number; machineId?: string };

function port(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address has no port.
function hostPort(s: string): { host: string; port: number } | null {
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracket !== null) {
    const host = bracket[1] ?? '';
    const p = bracket[2] === undefined ? PULSE_DEFAULT_PORT : port(bracket[2]);
    return isIPv6(host) && p !== null ? { host, port: p } : null;
  }
  if (isIPv6(s)) return { host: s, port: PULSE_DEFAULT_PORT };
  const parts = s.split(':');
  const host = parts[0] ?? '';
  if (host === '' || parts.length > 2 || /[\s/{}[\]]/.test(host)) return null;
  const p = parts[1] === undefined ? PULSE_DEFAULT_PORT : port(parts[1]);
  return p === null ? null : { host, port: p };
}

function parseItem(item: string): PulseServerEntry | null {
  let rest = item;
  let machineId: string | undefined;
  const prefix = /^\{([^}]*)\}(.*)$/.exec(rest);
  if (prefix !== null) {
    machineId = prefix[1];
    rest = prefix[2] ?? '';
  }
  const withId = <T extends PulseServerEntry>(e: T): T => (machineId === undefined ? e : { ...e, machineId });
  if (rest.startsWith('unix:')) {
    const path = rest.slice(5);
    return path.startsWith('/') ? withId({ kind: 'unix', path }) : null;
  }
  if (/^tcp[46]?:/.test(rest)) rest = rest.slice(rest.indexOf(':') + 1);
  else if (rest.startsWith('/')) return withId({ kind: 'unix', path: rest });
  const hp = hostPort(rest);
  return hp === null ? null : withId({ kind: 'tcp', ...hp });
}

/**
 * Parse `PULSE_SERVER`: a space-separated list tried in order. Items that libpulse could not use
 * (an empty or relative unix path, a bad port) are left out. Never throws.
 */
export function parsePulseServer(s: string): PulseServerEntry[] {
  return s
    .split(/\s+/)
    .filter((item) => item !== '')
    .map(parseItem)
    .filter((e): e is PulseServerEntry => e !== null);
}
