/** Where an X11 `DISPLAY` points. */
export interface ParsedDisplay {
  /** `unix`: the local socket `/tmp/.X11-unix/XN`; `tcp`: port 6000+N on `host`; `local-path`: an explicit socket path. */
  protocol: 'unix' | 'tcp' | 'local-path';
  /** The host part; empty for the local machine. For `host/unix:0` (xauth's notation) it is `host`. */
  host: string;
  display: number;
  screen: number;
  /** Only for `local-path`. */
  path?: string;
}

// X display numbers map to TCP port 6000+N, so they stay below 59536 (values above it are nonsense).
const MAX_DISPLAY = 65535 - 6000;

function numbers(num: string): { display: number; screen: number } | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(num);
  if (m === null) return null;
  const display = Number(m[1]);
  const screen = m[2] === undefined ? 0 : Number(m[2]);
  return display <= MAX_DISPLAY && screen <= 255 ? { display, screen } : null;
}

function fromPath(s: string): ParsedDisplay | null {
  // XQuartz-style `/path/to/socket:0`, else a `/tmp/.X11-unix/X0` socket path.
  const suffixed = /^(\/.*):([^:/]+)$/.exec(s);
  if (suffixed !== null) {
    const n = numbers(suffixed[2] ?? '');
    return n === null ? null : { protocol: 'local-path', host: '', ...n, path: suffixed[1] ?? '' };
  }
  const x = /\/X(\d+)$/.exec(s);
  const n = x === null ? null : numbers(x[1] ?? '');
  return n === null ? null : { protocol: 'local-path', host: '', ...n, path: s };
}

/**
 * Parse a `DISPLAY` value: `:0`, `:0.1`, `unix:1`, `localhost:10.0`, `tcp/host:0`, `host/unix:0`,
 * `[::1]:0`, or a socket path. DECnet (`host::0`) and anything malformed give null. Never throws.
 */
export function parseDisplay(s: string): ParsedDisplay | null {
  if (s.startsWith('/')) return fromPath(s);
  let rest = s;
  let protocol: 'unix' | 'tcp' | null = null;
  let xauthHost: string | null = null;
  const slash = /^([^/:[\]]*)\/(.*)$/.exec(rest);
  if (slash !== null) {
    const [, left = '', right = ''] = slash;
    if (right.startsWith('unix:')) {
      xauthHost = left;
      rest = right;
    } else if (['tcp', 'inet', 'inet6'].includes(left)) {
      protocol = 'tcp';
      rest = right;
    } else if (['unix', 'local'].includes(left)) {
      protocol = 'unix';
      rest = right;
    } else return null;
  }
  let host: string;
  let num: string;
  const bracket = /^\[([0-9A-Fa-f:.]+)\]:([^:]*)$/.exec(rest);
  if (bracket !== null) {
    host = bracket[1] ?? '';
    num = bracket[2] ?? '';
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) return null;
    host = rest.slice(0, colon);
    num = rest.slice(colon + 1);
    // `host::0` is DECnet, and a bare IPv6 address is ambiguous without brackets.
    if (host.includes(':') || /[\s/[\]]/.test(host)) return null;
  }
  const n = numbers(num);
  if (n === null) return null;
  if (xauthHost !== null) return { protocol: 'unix', host: xauthHost, ...n };
  if (host === 'unix') return protocol === 'tcp' ? null : { protocol: 'unix', host: '', ...n };
  if (host === '') return protocol === 'tcp' ? null : { protocol: 'unix', host: '', ...n };
  return { protocol: protocol ?? 'tcp', host, ...n };
}
