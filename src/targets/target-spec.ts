import { TargetError } from './target-error.js';

/** A parsed TARGET argument. */
export type TargetSpec =
  | { kind: 'chroot'; dir: string }
  | { kind: 'schroot'; name: string }
  | { kind: 'session'; id: string }
  | { kind: 'nspawn'; name: string }
  | { kind: 'pid'; pid: number }
  | { kind: 'podman'; name: string }
  | { kind: 'docker'; name: string }
  | { kind: 'self' }
  | { kind: 'auto' };

const HINT =
  'use chroot:DIR, a directory path, schroot:NAME, session:ID, nspawn:NAME, pid:N, podman:NAME, docker:NAME or self (see `ctr-doctor list`)';

/** Parses the TARGET argument of the contract; a malformed one is a TargetError (exit 2). */
export function parseTargetSpec(raw: string | undefined): TargetSpec {
  if (raw === undefined || raw === '') return { kind: 'auto' };
  if (raw === 'self') return { kind: 'self' };
  const colon = raw.indexOf(':');
  const prefix = colon > 0 ? raw.slice(0, colon) : '';
  const rest = colon > 0 ? raw.slice(colon + 1) : raw;
  switch (prefix) {
    case 'chroot':
      if (!rest) throw new TargetError('chroot: needs a directory, as in chroot:/srv/guest', HINT);
      return { kind: 'chroot', dir: rest };
    case 'schroot':
      if (!rest) throw new TargetError('schroot: needs a chroot name, as in schroot:bookworm', HINT);
      return { kind: 'schroot', name: rest.replace(/^chroot:/, '') };
    case 'session':
      if (!rest) throw new TargetError('session: needs a session id, as in session:bookworm-1234', HINT);
      return { kind: 'session', id: rest.replace(/^session:/, '') };
    case 'nspawn':
      if (!rest) throw new TargetError('nspawn: needs a machine name, as in nspawn:mybox', HINT);
      return { kind: 'nspawn', name: rest };
    case 'pid':
      if (!/^\d+$/.test(rest) || Number(rest) < 1) throw new TargetError(`pid:${rest} is not a process id`, HINT);
      return { kind: 'pid', pid: Number(rest) };
    case 'podman':
    case 'docker':
      if (!rest) throw new TargetError(`${prefix}: needs a container name or id, as in ${prefix}:web`, HINT);
      return { kind: prefix, name: rest };
    default:
      if (raw.startsWith('/') || raw.startsWith('.') || raw.includes('/')) return { kind: 'chroot', dir: raw };
      throw new TargetError(`"${raw}" is not a target`, HINT);
  }
}
