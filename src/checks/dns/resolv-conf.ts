import { isUtf8 } from 'node:buffer';
import { lstat } from 'node:fs/promises';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import { GLIBC_MAXNS, parseResolvConf } from '../../parse/resolv-conf.js';
import { hostNameservers } from '../../host/host-nameservers.js';
import { resolvConfProvisionFix, writeResolvConfFix } from '../../fixes/plans/resolv-conf-plans.js';
import type { Finding, Fix } from '../../core/types.js';

const PATH = '/etc/resolv.conf';

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

/** The container manager's lasting setting for resolv.conf, for this kind of target. */
async function provisionFixes(ctx: CheckContext): Promise<Fix[]> {
  const hostIsSymlink = await lstat('/etc/resolv.conf').then((s) => s.isSymbolicLink(), () => false);
  const provision = resolvConfProvisionFix(ctx.target, hostIsSymlink);
  return provision ? [provision] : [];
}

/** Fixes for a resolv.conf that gives no nameserver: write one now, and make the container manager provide it. */
async function repairFixes(ctx: CheckContext): Promise<Fix[]> {
  const fixes: Fix[] = [];
  const upstream = await hostNameservers(ctx.target.sharesNetns);
  if (upstream.addresses.length > 0) fixes.push(writeResolvConfFix(upstream.addresses, upstream.source));
  fixes.push(...(await provisionFixes(ctx)));
  return fixes;
}

export default defineCheck({
  id: 'dns.resolv-conf',
  group: 'dns',
  title: 'Guest /etc/resolv.conf',
  description: 'Reads /etc/resolv.conf as the guest sees it (symlinks followed inside the guest root) and checks it names at least one nameserver.',
  findings: {
    'resolv-conf-missing': { severity: 'fail', description: 'The guest has no /etc/resolv.conf.' },
    'resolv-conf-dangling-symlink': { severity: 'fail', description: '/etc/resolv.conf is a symlink to a file that does not exist inside the guest.' },
    'resolv-conf-symlink-loop': { severity: 'fail', description: '/etc/resolv.conf is part of a symlink loop.' },
    'resolv-conf-symlink-escapes-root': { severity: 'warn', description: 'A relative symlink climbs above the guest root: inside the guest it is clamped, but host tools follow it to host files.' },
    'resolv-conf-not-a-file': { severity: 'fail', description: '/etc/resolv.conf is a directory, FIFO, device or socket.' },
    'resolv-conf-binary': { severity: 'fail', description: '/etc/resolv.conf holds binary data or invalid UTF-8.' },
    'resolv-conf-truncated': { severity: 'warn', description: 'The file is larger than the read cap; only the start was read.' },
    'resolv-conf-empty': { severity: 'fail', description: 'The file is empty (resolvconf inside a container writes this).' },
    'resolv-conf-comments-only': { severity: 'fail', description: 'The file has only comments.' },
    'resolv-conf-no-nameserver': { severity: 'fail', description: 'The file has settings but no usable nameserver line.' },
    'resolv-conf-invalid-nameserver': { severity: 'warn', description: 'A nameserver line does not hold an IP address.' },
    'resolv-conf-too-many-nameservers': { severity: 'info', description: 'glibc uses only the first three nameservers.' },
    'resolv-conf-bind-mounted': { severity: 'warn', description: '/etc/resolv.conf is a mount point: the host\'s file is bind-mounted into the guest.' },
    'resolv-conf-symlink': { severity: 'info', description: 'The symlink chain followed inside the guest.' },
    'resolv-conf-nameservers': { severity: 'info', description: 'The nameservers the guest will ask.' },
  },
  fixDocs: {
    'dns.write-resolv-conf': 'Write /etc/resolv.conf in the guest with the host\'s upstream nameservers (backed up, undoable).',
    'dns.nspawn-resolv-conf-uplink': 'nspawn: --resolv-conf=copy-uplink (or replace-uplink), or ResolvConf=copy-uplink in the .nspawn file.',
    'dns.schroot-resolv-conf': 'schroot: copyfiles entry, or an fstab bind when the host file is a symlink.',
    'dns.chroot-resolv-conf': 'chroot: cp -L the host\'s resolv.conf into the guest.',
  },
  appliesTo: () => true,

  async run(ctx) {
    const { target } = ctx;
    const findings: Finding[] = [];

    // What it looks at: the file through the guest's own symlinks, and whether it is a mount point.
    const link = await target.readlink(PATH);
    if (link !== null) {
      findings.push(finding('resolv-conf-symlink', 'info', `${PATH} is a symlink to ${link}`, { target: link }));
      if (climbsAboveRoot(PATH, link)) {
        findings.push(finding('resolv-conf-symlink-escapes-root', 'warn',
          `${PATH} is a relative symlink (${link}) that climbs above the guest root; host tools that follow it read host files`, { target: link }));
      }
    }
    const mountPoint = (await target.mounts()).find((m) => m.mountPoint === PATH);
    if (mountPoint) {
      findings.push(finding('resolv-conf-bind-mounted', 'warn',
        `${PATH} is bind-mounted from the host (${mountPoint.root} on ${mountPoint.source}): edits in the guest fail with "Device or resource busy" and host changes leak in`,
        { source: mountPoint.source, root: mountPoint.root, fsType: mountPoint.fsType }));
    }

    const read = await target.readFile(PATH);
    if (!read.ok) {
      // How it decides: each way of not having a readable file is its own finding.
      switch (read.reason) {
        case 'missing':
          findings.push(finding('resolv-conf-missing', 'fail', `${PATH} does not exist in the guest, so no name can be resolved`));
          break;
        case 'dangling-symlink': {
          const onHost = link?.startsWith('/') ? await lstat(link).then(() => true, () => false) : false;
          findings.push(finding('resolv-conf-dangling-symlink', 'fail',
            `${PATH} is a dangling symlink to ${link} inside the guest${onHost ? ' (that path exists on the host, not in the guest)' : ''}`,
            { target: link, existsOnHost: onHost }));
          break;
        }
        case 'symlink-loop':
          findings.push(finding('resolv-conf-symlink-loop', 'fail', `${PATH}: too many levels of symbolic links (a symlink loop)`, { target: link }));
          break;
        case 'not-a-file':
          findings.push(finding('resolv-conf-not-a-file', 'fail', `${PATH} is not a regular file: ${read.message}`));
          break;
        case 'permission':
          return couldNotRun(`needs root: run with sudo (cannot read ${PATH} in the guest: ${read.message})`);
        default:
          return couldNotRun(`cannot read ${PATH}: ${read.message}`);
      }
      return outcomeOf(findings, await repairFixes(ctx));
    }

    if (read.truncated) {
      findings.push(finding('resolv-conf-truncated', 'warn', `${PATH} is larger than ${read.bytes.length} bytes; only the start was read`, { size: read.stat.size }));
    }
    if (looksBinary(read.bytes)) {
      findings.push(finding('resolv-conf-binary', 'fail', `${PATH} contains binary data, not nameserver lines`, { size: read.stat.size }));
      return outcomeOf(findings, await repairFixes(ctx));
    }
    const conf = parseResolvConf(read.text);
    for (const bad of conf.invalid) {
      findings.push(finding('resolv-conf-invalid-nameserver', 'warn', `${PATH} line ${bad.line}: ${bad.reason} ("${bad.text.slice(0, 80)}")`, { line: bad.line }));
    }
    if (read.text.trim() === '') {
      findings.push(finding('resolv-conf-empty', 'fail', `${PATH} is empty, so the guest has no nameserver (resolvconf writes this inside containers)`, { size: read.stat.size }));
    } else if (conf.contentLines === 0) {
      findings.push(finding('resolv-conf-comments-only', 'fail', `${PATH} has only comments and no nameserver line`, { commentLines: conf.commentLines }));
    } else if (conf.nameservers.length === 0) {
      findings.push(finding('resolv-conf-no-nameserver', 'fail', `${PATH} has no nameserver line, so the guest has no nameserver`, { search: conf.search }));
    } else {
      const used = conf.nameservers.slice(0, GLIBC_MAXNS).map((n) => n.address);
      if (conf.nameservers.length > GLIBC_MAXNS) {
        findings.push(finding('resolv-conf-too-many-nameservers', 'info', `${PATH} lists ${conf.nameservers.length} nameservers; glibc uses only the first ${GLIBC_MAXNS}`, { ignored: conf.nameservers.slice(GLIBC_MAXNS).map((n) => n.address) }));
      }
      findings.push(finding('resolv-conf-nameservers', 'info', `nameservers: ${used.join(', ')}`, { nameservers: used, search: conf.search, options: conf.options }));
    }
    // What it offers: a guest-side repair plus the container manager's lasting setting.
    const summary = findings.some((f) => f.severity === 'fail' || f.severity === 'warn')
      ? undefined
      : `${conf.nameservers.length} nameserver(s): ${conf.nameservers.slice(0, GLIBC_MAXNS).map((n) => n.address).join(', ')}`;
    // A readable but bind-mounted file cannot be rewritten in place: only the container manager's setting helps.
    const failing = findings.some((f) => f.severity === 'fail');
    return outcomeOf(findings, failing ? await repairFixes(ctx) : await provisionFixes(ctx), summary);
  },
});
