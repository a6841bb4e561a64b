import path from 'node:path';

/**
 * One shell word for `s`, for a snippet a person will paste: as it is when it is made only of
 * characters no shell treats specially, else single-quoted (a `'` inside closed, escaped and reopened).
 * Every guest string in a snippet goes through here, or is validated first (see {@link pasteableDisplay}).
 */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A machine name as systemd accepts one (a hostname: letters, digits, `-`, `_`, `.`, at most 64,
 * no `..`), which may be printed as it is into a path or a .nspawn file; anything else (a name from a
 * spoofed process, with `$(…)`, quotes or a newline) becomes the placeholder `MACHINE` (audit H6).
 */
export function machineName(name: string | null | undefined): string {
  return name && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) && !name.includes('..') ? name : 'MACHINE';
}

/** A hostname that may be printed into a config snippet (a .nspawn `Hostname=`): RFC 1123 labels, nothing else. */
export function pasteableHostname(name: string): boolean {
  return name.length <= 253 && /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name);
}

/** A DISPLAY that may be printed into a snippet as it is: `[host]:N[.S]`, nothing a shell would expand. */
export function pasteableDisplay(display: string): boolean {
  return /^[A-Za-z0-9.-]*:\d+(\.\d+)?$/.test(display);
}

/**
 * The host path of guest path `guestPath` under `root`, normalised inside the root first, so a guest
 * `..` can never climb above it in what is shown (`/../../root/x` is the guest's `/root/x`).
 */
export function hostPathInRoot(root: string, guestPath: string): string {
  const inside = path.posix.normalize(`/${guestPath}`);
  if (root === '/') return inside;
  return inside === '/' ? root.replace(/(.)\/+$/, '$1') : `${root.replace(/\/+$/, '')}${inside}`;
}

/** A host user's home as the host's shell finds it, for a host path a guest must not choose: `"$(getent passwd UID | cut -d: -f6)"`. */
export function hostHomeOf(uid: number): string {
  return `"$(getent passwd ${Math.trunc(uid)} | cut -d: -f6)"`;
}
