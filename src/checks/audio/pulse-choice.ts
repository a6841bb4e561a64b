/**
 * Where a libpulse client in the guest would connect, and the cookie it would send: shared by
 * audio.pulse (which authenticates) and audio.pipewire (which asks the server's name).
 */
import type { CheckContext } from '../../core/check.js';
import { parsePulseServer, type PulseServerEntry } from '../../parse/pulse-server.js';
import { readAsUser } from '../user-files.js';

/** The server a libpulse client in the guest would try, and where that choice came from. */
export interface ServerChoice {
  entries: PulseServerEntry[];
  source: 'PULSE_SERVER' | 'XDG_RUNTIME_DIR' | 'default';
  runtimeDir: string;
}

/** PULSE_SERVER when set (or `{invalid}` when it names nothing usable), else `$XDG_RUNTIME_DIR/pulse/native`, else /run/user/UID's. */
export function chooseServer(ctx: CheckContext): ServerChoice | { invalid: string } {
  const { env, user } = ctx.target;
  const runtimeDir = env.XDG_RUNTIME_DIR || `/run/user/${user.uid}`;
  const configured = env.PULSE_SERVER;
  if (configured !== undefined && configured.trim() !== '') {
    const entries = parsePulseServer(configured);
    return entries.length > 0 ? { entries, source: 'PULSE_SERVER', runtimeDir } : { invalid: configured };
  }
  const source = env.XDG_RUNTIME_DIR ? 'XDG_RUNTIME_DIR' : 'default';
  return { entries: [{ kind: 'unix', path: `${runtimeDir.replace(/\/+$/, '')}/pulse/native` }], source, runtimeDir };
}

/** A server entry as shown: the socket path, or host:port. */
export function describeServer(entry: PulseServerEntry): string {
  return entry.kind === 'unix' ? entry.path : `${entry.host}:${entry.port}`;
}

/**
 * The cookie libpulse sends: PULSE_COOKIE, then ~/.config/pulse/cookie, then ~/.pulse-cookie,
 * read with the user's own rights (the guest chooses PULSE_COOKIE: root must not read it for them).
 */
export async function guestCookie(ctx: CheckContext): Promise<{ file: string | null; hex: string | null }> {
  const { target } = ctx;
  const home = target.user.home.replace(/\/+$/, '');
  const candidates = target.env.PULSE_COOKIE ? [target.env.PULSE_COOKIE] : [`${home}/.config/pulse/cookie`, `${home}/.pulse-cookie`];
  for (const file of candidates) {
    if (!file.startsWith('/')) continue;
    const read = await readAsUser(target, file, 4096);
    if (read.ok) return { file, hex: read.bytes.subarray(0, 256).toString('hex') };
  }
  return { file: null, hex: null };
}
