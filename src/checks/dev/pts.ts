import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import { FS_MAGIC, fsNameOf } from '../../parse/fs-magic.js';
import { describeMount, lookAsUser, mountOf } from '../../guest/api-fs-look.js';
import { targetSchrootFstab, type SchrootFstab } from '../../host/schroot-fstab.js';
import { apiMountsFix } from '../../fixes/plans/api-mount-plans.js';
import type { MountEntry } from '../../parse/mountinfo.js';
import type { ApiFsResponse } from '../../guest/probes/api-fs-protocol.js';
import type { Finding, Fix } from '../../core/types.js';

export interface DevPtsFacts {
  look: ApiFsResponse;
  mounts: MountEntry[];
  /** The guest's `tty` group id, from its /etc/group. */
  ttyGid: number | null;
  fstab: SchrootFstab | null;
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
  user: { uid: number; name: string };
}

/** gather: devpts on /dev/pts, /dev/ptmx, and a pty opened as the desktop user with its slave's owner. */
export async function gatherDevPts(ctx: CheckContext): Promise<DevPtsFacts> {
  const { target } = ctx;
  const [look, mounts, group, fstab] = await Promise.all([
    lookAsUser(ctx, { statfs: ['/dev/pts'], nodes: ['/dev/ptmx'], pty: { ptmx: '/dev/ptmx', ptsDir: '/dev/pts' } }),
    target.mounts(),
    target.readFile('/etc/group'),
    targetSchrootFstab(ctx),
  ]);
  const tty = group.ok ? /^tty:[^:]*:(\d+):/m.exec(group.text)?.[1] : undefined;
  return { look, mounts, ttyGid: tty === undefined ? null : Number(tty), fstab, kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null, user: { uid: target.user.uid, name: target.user.name } };
}

/** What programs print when they cannot get a pty: apt's and script's words. */
const APT_SAYS = (errno: string) => `E: Can not write log (Is /dev/pts mounted?) - posix_openpt (${errno === 'ENODEV' ? '19: No such device' : errno === 'ENOENT' ? '2: No such file or directory' : errno === 'EACCES' ? '13: Permission denied' : errno})`;
const SCRIPT_SAYS = (errno: string) => `script: failed to create pseudo-terminal: ${errno === 'ENODEV' ? 'No such device' : errno === 'ENOENT' ? 'No such file or directory' : errno === 'EACCES' ? 'Permission denied' : errno}`;

/** judge: a devpts instance, a ptmx that opens, and a slave the user owns. */
export function judgeDevPts(f: DevPtsFacts): Finding[] {
  const out: Finding[] = [];
  const fs = f.look.filesystems[0];
  const ptmx = f.look.nodes[0];
  const pty = f.look.pty;
  const ptsMount = mountOf(f.mounts, '/dev/pts');
  const ev = { statfsType: fs?.type ?? null, ptmx: ptmx ? { type: ptmx.type, rdev: ptmx.major === null ? null : `${ptmx.major}:${ptmx.minor}` } : null, pty, mount: describeMount(ptsMount), user: f.user.name };
  if (fs && fs.type !== FS_MAGIC.devpts) {
    out.push(finding('pts-not-devpts', 'fail', `/dev/pts in the guest is ${fs.errno ? `missing (${fs.errno})` : `${fsNameOf(fs.type)}, not devpts`}, so apt prints "${APT_SAYS(pty?.errno ?? 'ENODEV')}" and ${SCRIPT_SAYS(pty?.errno ?? 'ENODEV')}`, ev));
  }
  if (ptmx && ptmx.type === 'missing') {
    out.push(finding('ptmx-missing', 'fail', `/dev/ptmx does not exist in the guest, so ${SCRIPT_SAYS('ENOENT')}`, ev));
  } else if (pty && !pty.ok && !out.some((x) => x.code === 'pts-not-devpts')) {
    const why = pty.errno === 'ENODEV' ? 'there is no devpts instance beside it (a non-recursive /dev bind leaves /dev/pts an empty directory)'
      : pty.errno === 'EACCES' ? `it is not usable by ${f.user.name} (devpts ptmxmode=000, or /dev on a nodev mount)` : `open failed with ${pty.errno}`;
    out.push(finding('pty-open-failed', 'fail', `${f.user.name} cannot open /dev/ptmx: ${why}, so ${SCRIPT_SAYS(pty.errno ?? 'EIO')}`, ev));
  }
  if (pty?.ok && pty.slave) {
    if (pty.slave.uid !== f.user.uid) out.push(finding('pty-not-owned', 'fail', `the pty ${f.user.name} gets (/dev/pts/${pty.index}) belongs to uid ${pty.slave.uid}, not ${f.user.uid}: devpts was mounted with uid=, so the user cannot use its own terminals`, ev));
    else if ((pty.slave.mode & 0o600) !== 0o600) out.push(finding('pty-not-owned', 'fail', `the pty ${f.user.name} gets (/dev/pts/${pty.index}) has mode ${pty.slave.mode.toString(8)}, which does not let its owner read and write it`, ev));
  }
  const gid = ptsMount?.superOptions.find((o) => o.startsWith('gid='))?.slice(4);
  if (ptsMount?.fsType === 'devpts' && f.ttyGid !== null && gid !== undefined && Number(gid) !== f.ttyGid) {
    out.push(finding('devpts-gid', 'warn', `devpts on /dev/pts gives ptys group ${gid}, but the guest's tty group is ${f.ttyGid}: write, wall and mesg cannot reach terminals`, { ...ev, gid: Number(gid), ttyGid: f.ttyGid }));
  }
  if (out.length === 0) out.push(finding('pts-ok', 'info', `/dev/pts is devpts and ${f.user.name} opened a pty (/dev/pts/${pty?.index ?? '?'}) it owns`, ev));
  return out;
}

/** offer: a private devpts instance (chroot), the fstab line (schroot), or the guest's own setup (nspawn). */
export function offerDevPts(f: DevPtsFacts, findings: Finding[]): Fix[] {
  if (!findings.some((x) => x.severity === 'fail')) return [];
  return [apiMountsFix('dev.mount-devpts', 'Give the guest its own devpts on /dev/pts', f.kind, f.root, ['/dev/pts'], f.fstab, f.machine)];
}

export default defineCheck({
  id: 'dev.pts',
  group: 'dev',
  title: 'devpts and a pty the user can open',
  description: 'statfs of /dev/pts must say devpts (0x1cd1); /dev/ptmx must open read-write as the desktop user, and the slave it hands out (found through the master\'s tty-index) must belong to that user. Reports ENODEV (a non-recursive /dev bind: /dev/pts is an empty directory), ENOENT (no ptmx) and EACCES (ptmxmode=000, nodev), and a devpts gid= that is not the guest\'s tty group. apt says "Can not write log (Is /dev/pts mounted?)"; script says "failed to create pseudo-terminal".',
  findings: {
    'pts-not-devpts': { severity: 'fail', description: '/dev/pts is not a devpts mount: "E: Can not write log (Is /dev/pts mounted?) - posix_openpt (19: No such device)".' },
    'ptmx-missing': { severity: 'fail', description: '/dev/ptmx does not exist.' },
    'pty-open-failed': { severity: 'fail', description: 'The user cannot open /dev/ptmx (the errno says why).' },
    'pty-not-owned': { severity: 'fail', description: 'The pty the user gets is not its own (devpts uid=, systemd#337) or not read-write for it.' },
    'devpts-gid': { severity: 'warn', description: 'devpts gid= is not the guest\'s tty group.' },
    'pts-ok': { severity: 'info', description: 'devpts is mounted and the user can open a pty.' },
  },
  fixDocs: {
    'dev.mount-devpts': 'chroot: mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts ROOT/dev/pts && ln -sf pts/ptmx ROOT/dev/ptmx (or --rbind /dev); schroot: the /dev/pts line of the profile\'s fstab; nspawn provides devpts itself.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: /dev/pts is checked inside a guest' : true),
  probes: ['user'],

  async run(ctx) {
    let facts: DevPtsFacts;
    try {
      facts = await gatherDevPts(ctx);
    } catch (error) {
      return couldNotRun(`could not look at the guest's /dev/pts: ${(error as Error).message}`);
    }
    const findings = judgeDevPts(facts);
    return outcomeOf(findings, offerDevPts(facts, findings));
  },
});
