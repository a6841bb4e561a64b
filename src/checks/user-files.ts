import type { GuestPathError, Target } from '../core/target.js';

/** A guest file as the desktop user could read it. */
export type UserRead =
  { ok: true; bytes: Buffer; truncated: boolean; uid: number; mode: number } | { ok: false; reason: GuestPathError; message: string };

/**
 * Reads guest file `guestPath` with the desktop user's own rights, in the dropped probe child
 * (never as root): a file the user may not read comes back as `permission`, so nothing root
 * alone could read (a guest's PULSE_COOKIE=/etc/shadow) is ever sent on the user's behalf.
 */
export async function readAsUser(target: Target, guestPath: string, maxBytes: number, timeoutMs = 2000): Promise<UserRead> {
  try {
    const r = await target.probe('read-file', { path: guestPath, maxBytes }, { asUser: true, timeoutMs });
    if (!r.ok) return r;
    return { ok: true, bytes: Buffer.from(r.dataBase64, 'base64'), truncated: r.truncated, uid: r.uid, mode: r.mode };
  } catch (error) {
    return { ok: false, reason: 'io', message: `${guestPath}: cannot read it as the user: ${(error as Error).message}` };
  }
}
