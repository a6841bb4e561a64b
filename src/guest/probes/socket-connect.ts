import net from 'node:net';

/**
 * Where a probe connects. A `path` is already resolved inside the guest root and usable
 * by connect() from the probe's working directory; `unusable` carries a failure found
 * before any connect() (for example a symlink loop while resolving the guest path).
 */
export type SocketTarget =
  /** `shown` names it in messages when `path` is a descriptor's /proc/self/fd/N. */
  | { kind: 'path'; path: string; shown?: string }
  | { kind: 'abstract'; name: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unusable'; errno: string; message: string };

/** The outcome of one connect(): an open socket, or the errno that refused it. */
export type ConnectOutcome =
  { ok: true; socket: net.Socket; elapsedMs: number } | { ok: false; errno: string; message: string; elapsedMs: number };

/** Longest unix socket path connect() takes: sun_path is 108 bytes with its NUL. */
export const MAX_UNIX_PATH_BYTES = 107;

/** A short human name for a target, for messages. */
export function describeTarget(target: SocketTarget): string {
  switch (target.kind) {
    case 'path':
      return target.shown ?? target.path;
    case 'abstract':
      return `@${target.name}`;
    case 'tcp':
      return net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
    case 'unusable':
      return 'the socket';
  }
}

/** The errno code of a socket error, or a stand-in when Node gave none. */
export function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

function connectOptions(target: Exclude<SocketTarget, { kind: 'unusable' }>): net.NetConnectOpts {
  if (target.kind === 'tcp') return { host: target.host, port: target.port };
  // A leading NUL makes Linux treat the name as abstract (per network namespace, no file).
  if (target.kind === 'abstract') return { path: '\0' + target.name };
  return { path: target.path };
}

/**
 * Connects to `target` within `timeoutMs`. Never throws: refusals come back as errno
 * names (ENOENT, ECONNREFUSED, EACCES, ENOTSOCK…), an overrun as ETIMEDOUT.
 */
export function connectSocket(target: SocketTarget, timeoutMs: number): Promise<ConnectOutcome> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  if (target.kind === 'unusable') {
    return Promise.resolve({ ok: false, errno: target.errno, message: target.message, elapsedMs: 0 });
  }
  if (target.kind === 'tcp' && net.isIP(target.host) === 0) {
    // Resolving here would use the host's resolver from inside the guest's namespace.
    return Promise.resolve({
      ok: false,
      errno: 'EINVAL',
      message: `${target.host}: not an IP address (the probe does not resolve names)`,
      elapsedMs: 0,
    });
  }
  if (target.kind === 'path' && Buffer.byteLength(target.path) > MAX_UNIX_PATH_BYTES) {
    // libuv would silently truncate the path and could reach a different socket.
    return Promise.resolve({
      ok: false,
      errno: 'ENAMETOOLONG',
      message: `${target.path}: longer than ${MAX_UNIX_PATH_BYTES} bytes, too long for a unix socket address`,
      elapsedMs: 0,
    });
  }
  return new Promise((resolve) => {
    const socket = net.connect(connectOptions(target));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({
        ok: false,
        errno: 'ETIMEDOUT',
        message: `connect to ${describeTarget(target)} timed out after ${timeoutMs} ms`,
        elapsedMs: elapsed(),
      });
    }, timeoutMs);
    const onError = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({
        ok: false,
        errno: errnoOf(error),
        message: `connect to ${describeTarget(target)}: ${error.message}`,
        elapsedMs: elapsed(),
      });
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // The caller adds its own handlers; until then a late error must not crash the probe.
      socket.on('error', () => undefined);
      resolve({ ok: true, socket, elapsedMs: elapsed() });
    });
  });
}
