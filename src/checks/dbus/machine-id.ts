import { randomBytes } from 'node:crypto';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { classifyMachineId, machineIdFromBytes, type MachineIdState } from '../../parse/machine-id.js';
import { linkDbusMachineIdFix, machineIdAdviceFix, writeMachineIdFix } from '../../fixes/plans/machine-id-plans.js';
import type { Finding, Fix } from '../../core/types.js';

const ETC = '/etc/machine-id';
const DBUS = '/var/lib/dbus/machine-id';

/** One machine-id file as the guest's processes see it. */
type IdFile = { path: string; present: false; why: string } | ({ path: string; present: true; symlinkTo: string | null } & MachineIdState);

/** What the check looked at. */
export interface MachineIdFacts {
  etc: IdFile;
  dbus: IdFile;
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
  /** A fresh id for the fix, drawn here so that offer stays pure. */
  freshId: string;
}

async function readIdFile(ctx: CheckContext, path: string): Promise<IdFile> {
  const [read, link] = await Promise.all([ctx.target.readFile(path, { maxBytes: 4096 }), ctx.target.readlink(path)]);
  if (!read.ok) return { path, present: false, why: read.reason === 'dangling-symlink' ? `a symlink to ${link ?? '?'} that leads nowhere` : read.reason };
  return { path, present: true, symlinkTo: link, ...classifyMachineId(read.text) };
}

/** gather: both files the way libdbus and systemd read them (through the guest's root, so a booted guest's transient id counts). */
export async function gatherMachineId(ctx: CheckContext): Promise<MachineIdFacts> {
  const [etc, dbus] = await Promise.all([readIdFile(ctx, ETC), readIdFile(ctx, DBUS)]);
  return { etc, dbus, kind: ctx.target.kind, root: ctx.target.root, machine: ctx.target.nspawn?.machine ?? null, freshId: machineIdFromBytes(randomBytes(16)) };
}

/** libdbus's own words for a file it rejects. */
function dbusComplaint(f: IdFile): string {
  if (!f.present) return `Failed to open "${f.path}": No such file or directory`;
  const length = f.state === 'empty' ? 0 : f.state === 'uninitialized' ? 13 : f.state === 'invalid' ? f.length : 32;
  return `UUID file '${f.path}' should contain a hex string of length 32, not length ${length}, with no other text`;
}

const valid = (f: IdFile): f is IdFile & { state: 'valid'; id: string } => f.present && f.state === 'valid';
const describe = (f: IdFile): string => (!f.present ? `is missing (${f.why})` : f.state === 'valid' ? 'is valid' : f.state === 'invalid' ? `holds ${f.length} characters, not 32 hex digits` : `is ${f.state}`);
const codeOf = (f: IdFile): string => (!f.present ? 'machine-id-missing' : `machine-id-${f.state}`);

/** judge: libdbus reads /var/lib/dbus/machine-id, then /etc/machine-id; systemd and journald only the latter. */
export function judgeMachineId(facts: MachineIdFacts): Finding[] {
  const { etc, dbus } = facts;
  const evidence = { etc: describe(etc), dbus: describe(dbus), etcSymlink: etc.present ? etc.symlinkTo : null, dbusSymlink: dbus.present ? dbus.symlinkTo : null };
  if (!valid(etc)) {
    const quote = `D-Bus library appears to be incorrectly set up: see the manual page for dbus-uuidgen to correct this issue. (${dbusComplaint(dbus)}; ${dbusComplaint(etc)})`;
    if (valid(dbus)) return [finding(codeOf(etc), 'warn', `${ETC} ${describe(etc)}: D-Bus still works from ${DBUS}, but systemd, journald and dbus-broker need ${ETC}`, evidence)];
    return [finding(codeOf(etc), 'fail', `${ETC} ${describe(etc)}, so D-Bus programs abort with "${quote}"`, { ...evidence, quote })];
  }
  if (dbus.present && !valid(dbus)) {
    return [finding('dbus-machine-id-invalid', 'warn', `${DBUS} ${describe(dbus)}; libdbus reads it before ${ETC} and says "${dbusComplaint(dbus)}" before falling back`, evidence)];
  }
  const ok = finding('machine-id-ok', 'info', `${ETC} holds a valid machine id (${etc.id})`, evidence);
  if (valid(dbus) && dbus.id !== etc.id) {
    return [ok, finding('machine-ids-differ', 'info', `${DBUS} (${dbus.id}) and ${ETC} (${etc.id}) differ: D-Bus and systemd name the machine differently`, evidence)];
  }
  return [ok];
}

/** offer: write an id (or link the D-Bus copy to it), plus the way each container kind does it. */
export function offerMachineId(facts: MachineIdFacts, findings: Finding[]): Fix[] {
  const codes = new Set(findings.map((f) => f.code));
  if (codes.has('dbus-machine-id-invalid')) return [linkDbusMachineIdFix()];
  if (![...codes].some((c) => c.startsWith('machine-id-') && c !== 'machine-id-ok')) return [];
  const fixes = [writeMachineIdFix(valid(facts.dbus) ? facts.dbus.id : facts.freshId)];
  if (facts.dbus.present && !valid(facts.dbus)) fixes.push(linkDbusMachineIdFix());
  return [...fixes, machineIdAdviceFix(facts.kind, facts.root, facts.machine)];
}

export default defineCheck({
  id: 'dbus.machine-id',
  group: 'dbus',
  title: 'Machine id present and valid',
  description: 'Reads /etc/machine-id and /var/lib/dbus/machine-id as the guest\'s processes see them (a booted guest\'s transient id counts). libdbus needs one of them to hold exactly 32 lowercase hex digits; an empty file, systemd\'s first-boot marker `uninitialized` or anything else makes dbus-launch, dbus-uuidgen and Electron apps abort with "D-Bus library appears to be incorrectly set up; failed to read machine uuid".',
  findings: {
    'machine-id-missing': { severity: 'fail', description: '/etc/machine-id does not exist (warn when /var/lib/dbus/machine-id still serves D-Bus).' },
    'machine-id-empty': { severity: 'fail', description: '/etc/machine-id is empty: libdbus says "should contain a hex string of length 32, not length 0".' },
    'machine-id-uninitialized': { severity: 'fail', description: '/etc/machine-id holds systemd\'s first-boot marker `uninitialized`, which libdbus rejects (length 13).' },
    'machine-id-invalid': { severity: 'fail', description: '/etc/machine-id holds something other than 32 lowercase hex digits.' },
    'dbus-machine-id-invalid': { severity: 'warn', description: '/var/lib/dbus/machine-id is broken while /etc/machine-id is fine: libdbus complains before falling back.' },
    'machine-ids-differ': { severity: 'info', description: 'The two files hold different ids.' },
    'machine-id-ok': { severity: 'info', description: '/etc/machine-id holds a valid id.' },
  },
  fixDocs: {
    'dbus.write-machine-id': 'Safe: write 32 random hex digits (or the valid D-Bus copy) to /etc/machine-id, backed up and undoable.',
    'dbus.link-dbus-machine-id': 'Safe: make /var/lib/dbus/machine-id a symlink to /etc/machine-id.',
    'dbus.machine-id-advice': 'chroot: systemd-machine-id-setup --root=ROOT or dbus-uuidgen --ensure; schroot: dbus-uuidgen inside the chroot; nspawn: boot the guest or --uuid=.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the machine id is checked inside a guest' : true),

  async run(ctx) {
    const facts = await gatherMachineId(ctx);
    const findings = judgeMachineId(facts);
    return outcomeOf(findings, offerMachineId(facts, findings));
  },
});
