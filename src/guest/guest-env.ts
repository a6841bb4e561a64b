import { DEFAULT_PATH } from '../core/target.js';

/** A PATH for guest commands (declared in core, where checks can reach it): a guest's own PATH is never used. */
export { DEFAULT_PATH };

/** Session variables that may reach a guest command (inside the guest only), besides LC_*. */
export const SESSION_VARS: readonly string[] = [
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'XAUTHORITY',
  'XDG_RUNTIME_DIR',
  'PULSE_SERVER',
  'PULSE_COOKIE',
  'DBUS_SESSION_BUS_ADDRESS',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
];

/** Locale values a host program in front of the guest command may see: a locale name, never a path. */
const LOCALE_VALUE = /^[A-Za-z0-9_.@+-]{0,64}$/;
const LOCALE_VAR = /^(?:LANG|LC_[A-Z]+)$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for a variable of the allow-list (SESSION_VARS and LC_*). */
export function isSessionVar(name: string): boolean {
  return SESSION_VARS.includes(name) || /^LC_[A-Z]+$/.test(name);
}

/**
 * The environment a guest command gets: the allow-listed session variables of `session`, then
 * `extra` (our own choice: LC_ALL, HOME…), and PATH fixed to `extra.PATH` or DEFAULT_PATH.
 * Never `LD_*` (from anywhere), never the session's PATH, never a value with a NUL, and locale
 * variables only when they look like a locale name (host util-linux reads them before the guest
 * command starts).
 */
export function guestCommandEnv(session: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  const keep = (name: string, value: string): void => {
    if (!VAR_NAME.test(name) || name.startsWith('LD_') || value.includes('\0')) return;
    if (LOCALE_VAR.test(name) && !LOCALE_VALUE.test(value)) return;
    env[name] = value;
  };
  for (const [name, value] of Object.entries(session)) if (isSessionVar(name)) keep(name, value);
  for (const [name, value] of Object.entries(extra)) if (name !== 'PATH') keep(name, value);
  env.PATH = extra.PATH !== undefined && /^(?:\/[\w.+-]+)+(?::(?:\/[\w.+-]+)+)*$/.test(extra.PATH) ? extra.PATH : DEFAULT_PATH;
  return env;
}

/** `env -i` operands for `env`: NAME=VALUE pairs, in a stable order. */
export function envAssignments(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((name) => `${name}=${env[name]}`);
}
