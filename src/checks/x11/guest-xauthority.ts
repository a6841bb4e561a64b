import { parseXauthority, pickCookie, type CookieReason, type XauthEntry } from '../../parse/xauthority.js';
import type { Target } from '../../core/target.js';
import { readAsUser } from '../user-files.js';

/** The cookie an X client in the guest would send, and how it was found. */
export interface GuestCookie {
  /** The Xauthority file the client reads (guest path). */
  file: string;
  /** `env`: from XAUTHORITY; `home`: ~/.Xauthority. */
  fileSource: 'env' | 'home';
  /** Why the file could not be used, or null when it was read. */
  readProblem: string | null;
  /** The file is there but the desktop user cannot read it (clients run as that user). */
  unreadableByUser: boolean;
  /** The hostname libXau matches entries against: the guest's own hostname. */
  hostname: string;
  hostnameSource: 'uname' | '/etc/hostname' | 'none';
  /** /etc/hostname in the guest, when it differs from the running hostname. */
  etcHostname: string | null;
  reason: CookieReason;
  /** The entry pickCookie chose (also for a hostname mismatch, which real clients would not send). */
  entry: XauthEntry | null;
}

async function guestHostname(target: Target): Promise<{ hostname: string; source: GuestCookie['hostnameSource']; etc: string | null }> {
  const etcRead = await target.readFile('/etc/hostname');
  const etc = etcRead.ok ? (etcRead.text.split('\n')[0] ?? '').trim() || null : null;
  // libXau compares with gethostname(): the guest's UTS name, which nspawn sets to the machine name.
  const running = (await target.hostname()) ?? '';
  if (running !== '') return { hostname: running, source: 'uname', etc };
  return { hostname: etc ?? '', source: etc ? '/etc/hostname' : 'none', etc };
}

/** Finds the guest user's Xauthority and the entry a local X client would pick for `display`. */
export async function guestCookie(target: Target, display: number): Promise<GuestCookie> {
  const fromEnv = target.env.XAUTHORITY;
  const file = fromEnv !== undefined && fromEnv !== '' ? fromEnv : `${target.user.home.replace(/\/+$/, '')}/.Xauthority`;
  const fileSource = fromEnv ? 'env' : 'home';
  const host = await guestHostname(target);
  const base = {
    file,
    fileSource,
    hostname: host.hostname,
    hostnameSource: host.source,
    etcHostname: host.etc !== null && host.etc !== host.hostname ? host.etc : null,
  } as const;
  // Read with the user's own rights (X clients run as the user; root must not read a guest-chosen file for them).
  const read = file.startsWith('/')
    ? await readAsUser(target, file, 1024 * 1024)
    : { ok: false as const, reason: 'missing' as const, message: 'not an absolute path' };
  if (!read.ok && read.reason === 'permission') return { ...base, readProblem: null, unreadableByUser: true, reason: 'none', entry: null };
  if (!read.ok) return { ...base, readProblem: `${file}: ${read.message}`, unreadableByUser: false, reason: 'none', entry: null };
  const unreadableByUser = false;
  const { entries } = parseXauthority(read.bytes);
  const picked = pickCookie(entries, { display: String(display), hostname: host.hostname });
  return { ...base, readProblem: null, unreadableByUser, reason: picked.reason, entry: picked.entry };
}
