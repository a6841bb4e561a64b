import { isUtf8 } from 'node:buffer';
import { cannotRun, defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import type { GuestRead } from '../../core/target.js';
import type { Fix } from '../../core/types.js';
import { GLIBC_MAXNS, parseResolvConf } from '../../parse/resolv-conf.js';
import { resolvConfProvisionFix, writeResolvConfFix } from '../../fixes/plans/resolv-conf-plans.js';
import { resolvConfLinkManager, type ServerProof } from '../../fixes/plans/dns-evidence.js';
import { askFromGuest, hostCandidates } from './asked-servers.js';

const PATH = '/etc/resolv.conf';

const findings = {
  'resolv-conf-missing': {
    severity: 'fail',
    message: '{path} does not exist in the guest, so no name can be resolved',
    description: 'The guest has no /etc/resolv.conf.',
  },
  'resolv-conf-dangling-symlink': {
    severity: 'fail',
    message: '{path} is a dangling symlink to {target} inside the guest{onHost}',
    description: '/etc/resolv.conf is a symlink to a file that does not exist inside the guest.',
  },
  'resolv-conf-runtime-link-dangling': {
    severity: 'fail',
    message:
      '{path} is a dangling symlink to {target}: {maker} makes that file while it runs in the guest, and it does not run there{booted}',
    description:
      '/etc/resolv.conf links into the runtime directory of systemd-resolved or resolvconf, which only exists while that service runs in the guest (a plain chroot of a systemd-resolved system, say).',
  },
  'resolv-conf-symlink-loop': {
    severity: 'fail',
    message: '{path}: too many levels of symbolic links (a symlink loop)',
    description: '/etc/resolv.conf is part of a symlink loop.',
  },
  'resolv-conf-symlink-escapes-root': {
    severity: 'warn',
    message: '{path} is a relative symlink ({target}) that climbs above the guest root; host tools that follow it read host files',
    description: 'A relative symlink climbs above the guest root: inside the guest it is clamped, but host tools follow it to host files.',
  },
  'resolv-conf-not-a-file': {
    severity: 'fail',
    message: '{path} is not a regular file: {detail}',
    description: '/etc/resolv.conf is a directory, FIFO, device or socket.',
  },
  'resolv-conf-binary': {
    severity: 'fail',
    message: '{path} contains binary data, not nameserver lines',
    description: '/etc/resolv.conf holds binary data or invalid UTF-8.',
  },
  'resolv-conf-truncated': {
    severity: 'warn',
    message: '{path} is larger than {bytes} bytes; only the start was read',
    description: 'The file is larger than the read cap; only the start was read.',
  },
  'resolv-conf-empty': {
    severity: 'fail',
    message: '{path} is empty, so the guest has no nameserver (resolvconf writes this inside containers)',
    description: 'The file is empty (resolvconf inside a container writes this).',
  },
  'resolv-conf-comments-only': {
    severity: 'fail',
    message: '{path} has only comments and no nameserver line',
    description: 'The file has only comments.',
  },
  'resolv-conf-no-nameserver': {
    severity: 'fail',
    message: '{path} has no nameserver line, so the guest has no nameserver',
    description: 'The file has settings but no usable nameserver line.',
  },
  'resolv-conf-invalid-nameserver': {
    severity: 'warn',
    message: '{path} line {line}: {reason} ("{text}")',
    description: 'A nameserver line does not hold an IP address.',
  },
  'resolv-conf-too-many-nameservers': {
    severity: 'info',
    message: '{path} lists {count} nameservers; glibc uses only the first {max}',
    description: 'glibc uses only the first three nameservers.',
  },
  'resolv-conf-bind-mounted': {
    severity: 'warn',
    message:
      '{path} is bind-mounted from the host ({root} on {source}): edits in the guest fail with "Device or resource busy" and host changes leak in',
    description: "/etc/resolv.conf is a mount point: the host's file is bind-mounted into the guest.",
  },
  'resolv-conf-symlink': {
    severity: 'info',
    message: '{path} is a symlink to {target}{manager}',
    description: 'The symlink chain followed inside the guest, and the package that manages it.',
  },
  'resolv-conf-nameservers': { severity: 'info', message: 'nameservers: {servers}', description: 'The nameservers the guest will ask.' },
} as const;

const fixDocs = {
  'dns.write-resolv-conf':
    "Write /etc/resolv.conf in the guest with the host's upstream nameservers (backed up, undoable); safe only when each answered from the guest's network namespace.",
  'dns.nspawn-resolv-conf-uplink': 'nspawn: --resolv-conf=copy-uplink (or replace-uplink), or ResolvConf=copy-uplink in the .nspawn file.',
  'dns.schroot-resolv-conf': 'schroot: copyfiles entry, or an fstab bind when the host file is a symlink.',
  'dns.chroot-resolv-conf': "chroot: cp -L the host's resolv.conf into the guest.",
} as const;

/** What dns.resolv-conf looks at. */
interface Facts {
  read: GuestRead;
  link: string | null;
  mount: { source: string; root: string; fsType: string } | null;
  /** The link's target exists on the host (a link made for the host, copied in). */
  targetOnHost: boolean;
  /** The guest runs an init (a booted nspawn guest), so its runtime directories would be filled. */
  booted: boolean;
  place: Parameters<typeof resolvConfProvisionFix>[0];
  hostResolvIsSymlink: boolean;
  /** The host's servers a write fix would use, and what each said from the guest's namespace. */
  upstream: { addresses: string[]; source: string; proof: ServerProof };
}

/** Text with NUL bytes, or mostly invalid UTF-8 and control bytes, is not a resolv.conf anyone wrote on purpose. */
function looksBinary(bytes: Buffer): boolean {
  if (bytes.includes(0)) return true;
  if (isUtf8(bytes)) return false;
  // glibc reads bytes, not UTF-8: a Latin-1 comment is still text; mostly undecodable or control bytes is not.
  const text = bytes.toString('utf8');
  let odd = 0;
  for (const ch of text) if (ch === '\uFFFD' || (ch < ' ' && ch !== '\n' && ch !== '\t' && ch !== '\r')) odd++;
  return odd * 8 > text.length;
}

/** A relative symlink target that climbs above the guest root once followed from where it sits. */
function climbsAboveRoot(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = linkPath.split('/').filter(Boolean).length - 1;
  for (const part of target.split('/')) {
    if (part === '..') depth -= 1;
    else if (part !== '' && part !== '.') depth += 1;
    if (depth < 0) return true;
  }
  return false;
}

/** The file has no nameserver that works: a repair is worth asking servers for. */
function needsRepair(read: GuestRead): boolean {
  if (!read.ok) return read.reason !== 'permission';
  return looksBinary(read.bytes) || parseResolvConf(read.text).nameservers.length === 0;
}

// What it looks at: the file through the guest's own symlinks, whether it is a mount point, and, when it gives no
// nameserver, the host's servers asked from the guest's namespace.
async function gather(ctx: CheckContext) {
  const { target, host, options } = ctx;
  const deadline = host.now() + options.timeoutMs - Math.max(250, options.timeoutMs * 0.2);
  const [read, link, mounts, procs, hostLink] = await Promise.all([
    target.readFile(PATH),
    target.readlink(PATH),
    target.mounts(),
    target.processes(),
    host.lstat('/etc/resolv.conf'),
  ]);
  if (!read.ok && read.reason === 'permission')
    return cannotRun(`needs root: run with sudo (cannot read ${PATH} in the guest: ${read.message})`);
  if (!read.ok && !['missing', 'dangling-symlink', 'symlink-loop', 'not-a-file'].includes(read.reason))
    return cannotRun(`cannot read ${PATH}: ${read.message}`);
  const mount = mounts.find((m) => m.mountPoint === PATH);
  const targetOnHost =
    !read.ok && read.reason === 'dangling-symlink' && link?.startsWith('/') === true && (await host.lstat(link)) !== null;
  const candidates = needsRepair(read) ? await hostCandidates(host, target.sharesNetns) : { addresses: [], source: 'none' };
  const proof =
    candidates.addresses.length > 0 ? await askFromGuest(ctx, candidates.addresses, deadline) : { name: options.dnsName, asked: [] };
  return {
    read,
    link,
    targetOnHost,
    mount: mount ? { source: mount.source, root: mount.root, fsType: mount.fsType } : null,
    booted: procs.some((p) => p.pid === target.pid && p.comm === 'systemd'),
    place: {
      kind: target.kind,
      root: target.root,
      ...(target.schroot ? { schroot: target.schroot } : {}),
      ...(target.nspawn ? { nspawn: target.nspawn } : {}),
    },
    hostResolvIsSymlink: hostLink?.type === 'symlink',
    upstream: { ...candidates, proof },
  } satisfies Facts;
}

const found = findingBuilder(findings);
type Found = Reported<typeof findings>;

/** The service that fills a runtime path a resolv.conf link points into, or null. */
function runtimeMaker(link: string): string | null {
  if (/(^|\/)run\/systemd\/resolve\//.test(link)) return 'systemd-resolved';
  if (/(^|\/)run\/resolvconf\//.test(link)) return 'resolvconf';
  return null;
}

/** Each way of not having a readable file is its own finding. */
function unreadable(facts: Facts, read: Extract<GuestRead, { ok: false }>): Found {
  const target = facts.link ?? '?';
  switch (read.reason) {
    case 'missing':
      return found('resolv-conf-missing', { path: PATH });
    case 'dangling-symlink': {
      const maker = facts.link !== null ? runtimeMaker(facts.link) : null;
      if (maker !== null) {
        const booted = facts.booted
          ? ' (the guest is booted, but that service is stopped or disabled)'
          : ' (the guest is not booted: a plain chroot runs no services)';
        return found('resolv-conf-runtime-link-dangling', { path: PATH, target, maker, booted }, { target, maker, booted: facts.booted });
      }
      return found(
        'resolv-conf-dangling-symlink',
        { path: PATH, target, onHost: facts.targetOnHost ? ' (that path exists on the host, not in the guest)' : '' },
        { target, existsOnHost: facts.targetOnHost },
      );
    }
    case 'symlink-loop':
      return found('resolv-conf-symlink-loop', { path: PATH }, { target: facts.link });
    default:
      return found('resolv-conf-not-a-file', { path: PATH, detail: read.message });
  }
}

// How it decides: the link and the mount first, then the file's content line by line.
function judge(facts: Facts) {
  const out: Found[] = [];
  const { link, read } = facts;
  if (link !== null) {
    const m = resolvConfLinkManager(link);
    out.push(
      found(
        'resolv-conf-symlink',
        { path: PATH, target: link, manager: m ? ` (managed by the ${m.manager} package)` : '' },
        { target: link, manager: m?.manager ?? null },
      ),
    );
    if (climbsAboveRoot(PATH, link)) out.push(found('resolv-conf-symlink-escapes-root', { path: PATH, target: link }, { target: link }));
  }
  if (facts.mount)
    out.push(found('resolv-conf-bind-mounted', { path: PATH, root: facts.mount.root, source: facts.mount.source }, facts.mount));
  if (!read.ok) return [...out, unreadable(facts, read)];
  if (read.truncated) out.push(found('resolv-conf-truncated', { path: PATH, bytes: read.bytes.length }, { size: read.stat.size }));
  if (looksBinary(read.bytes)) return [...out, found('resolv-conf-binary', { path: PATH }, { size: read.stat.size })];
  const conf = parseResolvConf(read.text);
  for (const bad of conf.invalid)
    out.push(
      found(
        'resolv-conf-invalid-nameserver',
        { path: PATH, line: bad.line, reason: bad.reason, text: bad.text.slice(0, 80) },
        { line: bad.line },
      ),
    );
  const used = conf.nameservers.slice(0, GLIBC_MAXNS).map((n) => n.address);
  if (read.text.trim() === '') out.push(found('resolv-conf-empty', { path: PATH }, { size: read.stat.size }));
  else if (conf.contentLines === 0) out.push(found('resolv-conf-comments-only', { path: PATH }, { commentLines: conf.commentLines }));
  else if (conf.nameservers.length === 0) out.push(found('resolv-conf-no-nameserver', { path: PATH }, { search: conf.search }));
  else {
    if (conf.nameservers.length > GLIBC_MAXNS) {
      out.push(
        found(
          'resolv-conf-too-many-nameservers',
          { path: PATH, count: conf.nameservers.length, max: GLIBC_MAXNS },
          { ignored: conf.nameservers.slice(GLIBC_MAXNS).map((n) => n.address) },
        ),
      );
    }
    out.push(
      found('resolv-conf-nameservers', { servers: used.join(', ') }, { nameservers: used, search: conf.search, options: conf.options }),
    );
  }
  return { findings: out, summary: `${conf.nameservers.length} nameserver(s): ${used.join(', ')}` };
}

// What it offers: a guest-side repair with servers that answered there (else shown as manual), plus the container
// manager's lasting setting. A readable but bind-mounted file cannot be rewritten in place.
function offer(facts: Facts, reported: readonly Found[]) {
  const failing = reported.some((f) => findings[f.code].severity === 'fail');
  const fixes: (Fix<keyof typeof fixDocs> | null)[] = [];
  if (failing && facts.upstream.addresses.length > 0 && facts.mount === null) {
    fixes.push(
      writeResolvConfFix(facts.upstream.addresses, facts.upstream.source, facts.upstream.proof, {
        link: facts.link,
        manager: resolvConfLinkManager(facts.link),
      }),
    );
  }
  fixes.push(resolvConfProvisionFix(facts.place, facts.hostResolvIsSymlink));
  return fixes;
}

export default defineCheck({
  id: 'dns.resolv-conf',
  group: 'dns',
  title: 'Guest /etc/resolv.conf',
  description:
    'Reads /etc/resolv.conf as the guest sees it (symlinks followed inside the guest root) and checks it names at least one nameserver; names the package that manages its link, and a link into a runtime directory that only a running service fills.',
  findings,
  fixDocs,
  appliesTo: () => true,
  gather,
  judge,
  offer,
});
