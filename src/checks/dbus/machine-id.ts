import { randomBytes } from 'node:crypto';
import { defineCheck, type CheckContext, type Reported, type EarlyOutcome } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { classifyMachineId, machineIdFromBytes, type MachineIdState } from '../../parse/machine-id.js';
import { linkDbusMachineIdFix, machineIdAdviceFix, writeMachineIdFix } from '../../fixes/plans/machine-id-plans.js';
import type { TargetKind } from '../../core/types.js';

const ETC = '/etc/machine-id';
const DBUS = '/var/lib/dbus/machine-id';
const LIBDBUS = 'D-Bus library appears to be incorrectly set up: see the manual page for dbus-uuidgen to correct this issue.';

const findings = {
  'machine-id-broken': {
    severity: 'fail',
    message: `${ETC} {state}, so D-Bus programs abort with "${LIBDBUS} ({complaints})"`,
    description: `${ETC} is missing, empty, \`uninitialized\` or not 32 hex digits, and ${DBUS} does not stand in: dbus-launch, dbus-uuidgen and Electron apps abort with "${LIBDBUS}" and "should contain a hex string of length 32".`,
  },
  'machine-id-broken-dbus-ok': {
    severity: 'warn',
    message: `${ETC} {state}: D-Bus still works from ${DBUS}, but systemd, journald and dbus-broker need ${ETC}`,
    description: `${ETC} is broken, but ${DBUS} is valid, so libdbus still works.`,
  },
  'dbus-machine-id-invalid': {
    severity: 'warn',
    message: `${DBUS} {state}; libdbus reads it before ${ETC} and says "{complaint}" before falling back`,
    description: `${DBUS} is broken while ${ETC} is fine: libdbus complains before falling back.`,
  },
  'machine-ids-differ': {
    severity: 'info',
    message: `${DBUS} ({dbusId}) and ${ETC} ({etcId}) differ: D-Bus and systemd name the machine differently`,
    description: 'The two files hold different ids.',
  },
  'machine-id-ok': { severity: 'info', message: `${ETC} holds a valid machine id ({id})`, description: `${ETC} holds a valid id.` },
} as const;

const fixDocs = {
  'dbus.write-machine-id': 'Safe: write 32 random hex digits (or the valid D-Bus copy) to /etc/machine-id, backed up and undoable.',
  'dbus.link-dbus-machine-id': 'Safe: make /var/lib/dbus/machine-id a symlink to /etc/machine-id.',
  'dbus.machine-id-advice':
    'chroot: systemd-machine-id-setup --root=ROOT or dbus-uuidgen --ensure; schroot: dbus-uuidgen inside the chroot; nspawn: boot the guest or --uuid=.',
} as const;

/** One machine-id file as the guest's processes see it. */
type IdFile = { path: string; present: false; why: string } | ({ path: string; present: true; symlinkTo: string | null } & MachineIdState);

interface Facts {
  etc: IdFile;
  dbus: IdFile;
  kind: TargetKind;
  root: string;
  machine: string | null;
  /** A fresh id for the fix, drawn here so that offer stays pure. */
  freshId: string;
}

async function readIdFile(ctx: CheckContext, path: string): Promise<IdFile> {
  const [read, link] = await Promise.all([ctx.target.readFile(path, { maxBytes: 4096 }), ctx.target.readlink(path)]);
  if (!read.ok)
    return {
      path,
      present: false,
      why: read.reason === 'dangling-symlink' ? `a symlink to ${link ?? '?'} that leads nowhere` : read.reason,
    };
  return { path, present: true, symlinkTo: link, ...classifyMachineId(read.text) };
}

// What it looks at: both files the way libdbus and systemd read them (through the guest's root, so a booted guest's transient id counts).
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const [etc, dbus] = await Promise.all([readIdFile(ctx, ETC), readIdFile(ctx, DBUS)]);
  return {
    etc,
    dbus,
    kind: ctx.target.kind,
    root: ctx.target.root,
    machine: ctx.target.nspawn?.machine ?? null,
    freshId: machineIdFromBytes(randomBytes(16)),
  };
}

/** libdbus's own words for a file it rejects. */
function complaintOf(f: IdFile): string {
  if (!f.present) return `Failed to open "${f.path}": No such file or directory`;
  const length = f.state === 'empty' ? 0 : f.state === 'uninitialized' ? 13 : f.state === 'invalid' ? f.length : 32;
  return `UUID file '${f.path}' should contain a hex string of length 32, not length ${length}, with no other text`;
}

const isValid = (f: IdFile): f is IdFile & { state: 'valid'; id: string } => f.present && f.state === 'valid';
const stateOf = (f: IdFile): string =>
  !f.present
    ? `is missing (${f.why})`
    : f.state === 'valid'
      ? 'is valid'
      : f.state === 'invalid'
        ? `holds ${f.length} characters, not 32 hex digits`
        : `is ${f.state}`;
const found = findingBuilder(findings);

// How it decides: libdbus reads /var/lib/dbus/machine-id, then /etc/machine-id; systemd and journald only the latter.
function judge(facts: Facts) {
  const { etc, dbus } = facts;
  const evidence = {
    etc: stateOf(etc),
    dbus: stateOf(dbus),
    etcSymlink: etc.present ? etc.symlinkTo : null,
    dbusSymlink: dbus.present ? dbus.symlinkTo : null,
  };
  if (!isValid(etc)) {
    if (isValid(dbus)) return [found('machine-id-broken-dbus-ok', { state: stateOf(etc) }, evidence)];
    const complaints = `${complaintOf(dbus)}; ${complaintOf(etc)}`;
    return [found('machine-id-broken', { state: stateOf(etc), complaints }, { ...evidence, quote: `${LIBDBUS} (${complaints})` })];
  }
  if (dbus.present && !isValid(dbus))
    return [found('dbus-machine-id-invalid', { state: stateOf(dbus), complaint: complaintOf(dbus) }, evidence)];
  const out: Reported<typeof findings>[] = [found('machine-id-ok', { id: etc.id }, evidence)];
  if (isValid(dbus) && dbus.id !== etc.id) out.push(found('machine-ids-differ', { dbusId: dbus.id, etcId: etc.id }, evidence));
  return out;
}

// What it offers: write an id (or link the D-Bus copy to it), and the way each container kind does it.
function offer(facts: Facts, reported: readonly Reported<typeof findings>[]) {
  const codes = new Set(reported.map((r) => r.code));
  if (codes.has('dbus-machine-id-invalid')) return [linkDbusMachineIdFix()];
  if (!codes.has('machine-id-broken') && !codes.has('machine-id-broken-dbus-ok')) return [];
  const write = writeMachineIdFix(isValid(facts.dbus) ? facts.dbus.id : facts.freshId);
  const link = facts.dbus.present && !isValid(facts.dbus) ? linkDbusMachineIdFix() : null;
  return [write, link, machineIdAdviceFix(facts.kind, facts.root, facts.machine)];
}

export default defineCheck({
  id: 'dbus.machine-id',
  group: 'dbus',
  title: 'Machine id present and valid',
  description:
    "Reads /etc/machine-id and /var/lib/dbus/machine-id as the guest's processes see them (a booted guest's transient id counts). libdbus needs one of them to hold exactly 32 lowercase hex digits; an empty file, systemd's first-boot marker `uninitialized` or anything else makes dbus-launch, dbus-uuidgen and Electron apps abort with \"D-Bus library appears to be incorrectly set up; failed to read machine uuid\".",
  findings,
  fixDocs,
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the machine id is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
