/**
 * What DNS fix plans are built from: the answers of the nameservers a fix would write (asked
 * from the guest's network namespace before anything is proposed as `safe`), and who manages
 * the /etc/resolv.conf link a fix replaces (a change to a package's link is never silent).
 */
import type { DnsVerdict } from '../../core/probe-types.js';

/** resolved's list of upstream servers, or "# No DNS servers known.": the file to link when the guest runs its own resolved. */
export const RESOLVED_UPSTREAM_FILE = '/run/systemd/resolve/resolv.conf';

/** A server works when it answers at all: an address, NXDOMAIN or NOERROR without data. */
export const WORKING: ReadonlySet<DnsVerdict> = new Set(['answer', 'nodata', 'nxdomain']);

/** What one candidate server said when asked from the guest's namespace. */
export interface AskedServer {
  server: string;
  verdict: DnsVerdict | 'not-asked';
  detail: string | null;
}

/** The servers a fix would write, and what each of them said to a query for `name`. */
export interface ServerProof {
  name: string;
  asked: AskedServer[];
}

/** Every server answered: the proposal is verified. */
export function allAnswered(proof: ServerProof): boolean {
  return proof.asked.length > 0 && proof.asked.every((a) => a.verdict !== 'not-asked' && WORKING.has(a.verdict));
}

/** `203.0.113.53: answer; 10.255.255.53: timeout (no answer within 400 ms)`. */
export function proofText(proof: ServerProof): string {
  return proof.asked.map((a) => `${a.server}: ${a.verdict}${a.detail ? ` (${a.detail})` : ''}`).join('; ');
}

/** The package that manages a resolv.conf link, and the command that restores it (undoing our change). */
export interface LinkManager {
  manager: string;
  undo: string;
}

/** The manager of a resolv.conf symlink pointing at `link`, or null for a file or an unmanaged link. */
export function resolvConfLinkManager(link: string | null): LinkManager | null {
  if (link === null) return null;
  // resolvconf links it once, and again on `dpkg-reconfigure` (which clears /var/lib/resolvconf/linkified).
  if (/(^|\/)run\/resolvconf\/resolv\.conf$|(^|\/)etc\/resolvconf\/run\/resolv\.conf$/.test(link)) {
    return { manager: 'resolvconf', undo: 'dpkg-reconfigure resolvconf' };
  }
  // systemd-resolved's postinst links it on a first install only.
  if (/(^|\/)run\/systemd\/resolve\/(stub-)?resolv\.conf$/.test(link)) {
    return { manager: 'systemd-resolved', undo: 'apt-get purge systemd-resolved && apt-get install systemd-resolved' };
  }
  return null;
}

/** The guest's /etc/resolv.conf link now and its manager, for the step that replaces it. */
export interface ReplacedLink {
  link: string | null;
  manager: LinkManager | null;
}

/** ` (this replaces L, a link the resolvconf package manages; `dpkg-reconfigure resolvconf` puts it back, undoing this change)`, or ''. */
export function managedNote(replaced: ReplacedLink | undefined): string {
  const m = replaced?.manager ?? null;
  return m === null
    ? ''
    : ` (this replaces ${replaced?.link ?? '/etc/resolv.conf'}, a link the ${m.manager} package manages; \`${m.undo}\` puts it back, undoing this change)`;
}
