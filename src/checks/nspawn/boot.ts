import { defineCheck, skip, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import type { Host } from '../../core/host.js';
import { DEFAULT_PATH } from '../../core/target.js';
import { eachLine, splitWords } from '../../parse/text-lines.js';
import { bootAdviceFix, maskUnitsFix } from '../../fixes/plans/nspawn-boot-plans.js';

/** A boot still `starting` after this long is stuck on something. */
const STUCK_AFTER_S = 90;
/** At most this many failed units are looked at closely. */
const MAX_UNITS = 10;

/** Units that fail in containers for container reasons, with the reason. */
const CONTAINER_HOSTILE: Record<string, string> = {
  'systemd-modules-load.service': 'a container has no CAP_SYS_MODULE',
  'systemd-journald-audit.socket': 'the audit subsystem is not namespaced',
  'systemd-networkd-wait-online.service': 'the container has no links networkd manages',
  'systemd-remount-fs.service': "the container's root is not its to remount",
  'systemd-sysctl.service': '/proc/sys is read-only in a container',
  'systemd-udevd.service': 'udev does not run in containers',
  'systemd-udev-trigger.service': 'udev does not run in containers',
  'systemd-binfmt.service': "binfmt_misc is the host's",
  'e2scrub_reap.service': 'a host maintenance service copied in with the root',
  'postgresql.service': 'a host service copied in with a whole-host overlay',
  'podman.service': 'a host service copied in with a whole-host overlay',
  'prometheus.service': 'a host service copied in with a whole-host overlay',
};

const findings = {
  'boot-degraded': {
    severity: 'warn',
    message: 'the guest\'s systemd reports "{state}": {count} failed unit(s): {units}{journal}',
    description:
      'The guest is "degraded": each failed unit is named with its result and exit status, the container-hostile ones marked, the last journal line quoted.',
  },
  'boot-stuck': {
    severity: 'warn',
    message: 'the guest has been "{state}" for {seconds} s, waiting on {jobs}',
    description: 'The guest has been "starting" for more than 90 s.',
  },
  'boot-state': {
    severity: 'warn',
    message: 'the guest\'s systemd reports "{state}" (systemctl is-system-running)',
    description: 'Another state: maintenance, stopping, offline.',
  },
  'boot-starting': {
    severity: 'info',
    message: 'the guest is still "{state}" ({seconds} s after it started)',
    description: 'Still starting, recently booted.',
  },
  'boot-running': {
    severity: 'info',
    message: 'the guest\'s systemd reports "running": every unit started',
    description: 'The guest reports "running".',
  },
} as const;

const fixDocs = {
  'nspawn.mask-failed-units':
    'Unsafe: mask the failed units in the guest (/etc/systemd/system/UNIT -> /dev/null, undoable), then daemon-reload and reset-failed.',
  'nspawn.boot-advice': 'systemctl --root=ROOT mask UNIT… before the next boot; wait with systemctl is-system-running --wait.',
} as const;

interface FailedUnit {
  unit: string;
  result: string | null;
  status: string | null;
  journal: string[];
}

interface Facts {
  state: string | null;
  uptimeS: number | null;
  jobs: string[];
  failed: FailedUnit[];
  root: string;
}

/** The guest leader's age in seconds, from /proc (starttime is in clock ticks since boot; Linux reports 100 a second). */
async function ageOf(host: Host, pid: number): Promise<number | null> {
  const [stat, uptime] = await Promise.all([host.readFile(`/proc/${pid}/stat`), host.readFile('/proc/uptime')]);
  if (stat === null || uptime === null) return null;
  const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Math.max(0, Math.round(Number(uptime.split(' ')[0]) - start / 100));
}

// What it looks at: guest PID 1, then its own systemctl and journal about its state, inside its namespaces.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  const pid = target.pid!;
  const comm = (await ctx.host.readFile(`/proc/${pid}/comm`))?.trim();
  if (comm !== 'systemd') return skip(`the guest was not booted (its PID 1 is ${comm ?? 'gone'}, not systemd)`);
  const opts = {
    env: { PATH: DEFAULT_PATH, LC_ALL: 'C', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' }, // Up to four rounds of commands, one after the other, inside the check's time.
    timeoutMs: Math.max(200, Math.floor(ctx.options.timeoutMs * 0.22)),
  };
  const [state, uptimeS] = await Promise.all([target.exec(['systemctl', 'is-system-running'], opts), ageOf(ctx.host, pid)]);
  const facts: Facts = { state: state.stdout.trim() || null, uptimeS, jobs: [], failed: [], root: target.root };
  if (facts.state === 'starting' || facts.state === 'initializing') {
    const jobs = await target.exec(['systemctl', 'list-jobs', '--no-legend', '--plain'], opts);
    facts.jobs = [...eachLine(jobs.stdout)]
      .map((l) => splitWords(l.text)[1] ?? '')
      .filter((u) => u !== '')
      .slice(0, MAX_UNITS);
  }
  if (facts.state !== 'running') {
    const list = await target.exec(['systemctl', 'list-units', '--state=failed', '--no-legend', '--plain', '--full'], opts);
    const units = [...eachLine(list.stdout)]
      .map((l) => splitWords(l.text.replace(/^\W+/, ''))[0] ?? '')
      .filter((u) => /^[\w@:.\\-]+\.[a-z]+$/.test(u))
      .slice(0, MAX_UNITS);
    facts.failed = await Promise.all(
      units.map(async (unit) => {
        // The unit's own processes' words first (_SYSTEMD_UNIT); -u adds systemd's "Failed to start" about it.
        const [show, own, about] = await Promise.all([
          target.exec(['systemctl', 'show', '-p', 'Result', '-p', 'ExecMainStatus', unit], opts),
          target.exec(['journalctl', `_SYSTEMD_UNIT=${unit}`, '-n', '3', '--no-pager', '-o', 'cat'], opts),
          target.exec(['journalctl', '-u', unit, '-n', '3', '--no-pager', '-o', 'cat'], opts),
        ]);
        const prop = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(show.stdout)?.[1] ?? null;
        const linesOf = (r: typeof own) =>
          r.exitCode === 0
            ? r.stdout
                .trim()
                .split('\n')
                .filter((l) => l !== '' && !l.startsWith('-- '))
                .slice(-3)
            : [];
        const lines = linesOf(own).length > 0 ? linesOf(own) : linesOf(about);
        return { unit, result: prop('Result'), status: prop('ExecMainStatus'), journal: lines };
      }),
    );
  }
  return facts;
}

const describeUnit = (u: FailedUnit): string =>
  `${u.unit} (${u.result ?? 'failed'}${u.status && u.status !== '0' ? `, status ${u.status}` : ''}${CONTAINER_HOSTILE[u.unit] ? `: ${CONTAINER_HOSTILE[u.unit]}` : ''})`;
const found = findingBuilder(findings);

// How it decides: running passes; degraded names its failed units; starting is a problem only once it lasts.
function judge(f: Facts) {
  const ev = { state: f.state, uptimeS: f.uptimeS, jobs: f.jobs, failed: f.failed };
  const state = f.state ?? 'nothing';
  if (f.state === 'running') return [found('boot-running', {}, ev)];
  const out: Reported<typeof findings>[] = [];
  if (f.state === 'degraded' || f.failed.length > 0) {
    const last = f.failed.find((u) => u.journal.length > 0);
    const journal = last ? `; ${last.unit} logged "${last.journal[last.journal.length - 1]}"` : '';
    out.push(
      found(
        'boot-degraded',
        { state, count: f.failed.length, units: f.failed.map(describeUnit).join(', ') || 'none listed', journal },
        { ...ev, containerHostile: f.failed.filter((u) => CONTAINER_HOSTILE[u.unit]).map((u) => u.unit) },
      ),
    );
  }
  const starting = f.state === 'starting' || f.state === 'initializing';
  if (starting && (f.uptimeS ?? 0) > STUCK_AFTER_S)
    out.push(found('boot-stuck', { state, seconds: f.uptimeS ?? 0, jobs: f.jobs.join(', ') || 'jobs it does not list' }, ev));
  else if (starting) out.push(found('boot-starting', { state, seconds: f.uptimeS ?? '?' }, ev));
  else if (out.length === 0) out.push(found('boot-state', { state }, ev));
  return out;
}

// What it offers: mask the failed units now (unsafe), and before the next boot from the host.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  if (!reported.some((r) => r.code === 'boot-degraded')) return [];
  const units = f.failed.map((u) => u.unit).filter((u) => !u.endsWith('.target') && u !== 'dbus.service' && u !== 'dbus.socket');
  return [units.length > 0 ? maskUnitsFix(units) : null, bootAdviceFix(f.root, units)];
}

export default defineCheck({
  id: 'nspawn.boot',
  group: 'nspawn',
  title: 'A booted guest reached "running"',
  description:
    "Only for nspawn guests whose PID 1 is systemd: asks the guest's own systemctl (inside its namespaces, no machined needed) for `is-system-running`. `degraded` names each failed unit with its Result, exit status and last journal line, and marks the usual container-hostile units (modules-load, journald-audit.socket, networkd-wait-online, remount-fs, sysctl, host services a whole-host overlay copied in); `starting` for more than 90 s names the jobs it waits on.",
  findings,
  fixDocs,
  appliesTo: (ctx) => {
    if (ctx.target.kind !== 'nspawn') return 'only for systemd-nspawn guests';
    if (ctx.target.pid === null) return 'the machine is not running';
    return true;
  },
  gather,
  judge,
  offer,
});
