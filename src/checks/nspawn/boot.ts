import { readFile } from 'node:fs/promises';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf, skipped } from '../../core/outcome.js';
import { DEFAULT_PATH } from '../../guest/run-command.js';
import { eachLine, splitWords } from '../../parse/text-lines.js';
import { bootAdviceFix, maskUnitsFix } from '../../fixes/plans/nspawn-boot-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** A boot still `starting` after this long is stuck on something. */
const STUCK_AFTER_S = 90;
/** At most this many failed units are looked at closely. */
const MAX_UNITS = 10;

/** Units that fail in containers for container reasons, with the reason. */
const CONTAINER_HOSTILE: Record<string, string> = {
  'systemd-modules-load.service': 'a container has no CAP_SYS_MODULE',
  'systemd-journald-audit.socket': 'the audit subsystem is not namespaced',
  'systemd-networkd-wait-online.service': 'the container has no links networkd manages',
  'systemd-remount-fs.service': 'the container\'s root is not its to remount',
  'systemd-sysctl.service': '/proc/sys is read-only in a container',
  'systemd-udevd.service': 'udev does not run in containers',
  'systemd-udev-trigger.service': 'udev does not run in containers',
  'systemd-binfmt.service': 'binfmt_misc is the host\'s',
  'e2scrub_reap.service': 'a host maintenance service copied in with the root',
  'postgresql.service': 'a host service copied in with a whole-host overlay',
  'podman.service': 'a host service copied in with a whole-host overlay',
};

export interface FailedUnit {
  unit: string;
  result: string | null;
  status: string | null;
  journal: string[];
}

export interface NspawnBootFacts {
  booted: boolean;
  state: string | null;
  uptimeS: number | null;
  jobs: string[];
  failed: FailedUnit[];
  root: string;
}

/** The guest leader's age in seconds, from /proc (starttime is in clock ticks since boot; Linux uses 100 a second). */
async function ageOf(pid: number): Promise<number | null> {
  const [stat, uptime] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null), readFile('/proc/uptime', 'utf8').catch(() => null)]);
  if (stat === null || uptime === null) return null;
  const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Math.max(0, Math.round(Number(uptime.split(' ')[0]) - start / 100));
}

/** gather: guest PID 1, then its own systemctl (and journal) about its state, inside its namespaces. */
export async function gatherNspawnBoot(ctx: CheckContext): Promise<NspawnBootFacts> {
  const { target } = ctx;
  const pid = target.pid!;
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
  const facts: NspawnBootFacts = { booted: comm === 'systemd', state: null, uptimeS: null, jobs: [], failed: [], root: target.root };
  if (!facts.booted) return facts;
  const opts = { env: { PATH: DEFAULT_PATH, LC_ALL: 'C', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' }, timeoutMs: Math.max(2000, ctx.options.timeoutMs) };
  const [state, uptime] = await Promise.all([target.exec(['systemctl', 'is-system-running'], opts), ageOf(pid)]);
  facts.state = state.stdout.trim() || null;
  facts.uptimeS = uptime;
  if (facts.state === 'starting' || facts.state === 'initializing') {
    const jobs = await target.exec(['systemctl', 'list-jobs', '--no-legend', '--plain'], opts);
    facts.jobs = [...eachLine(jobs.stdout)].map((l) => splitWords(l.text)[1] ?? '').filter((u) => u !== '').slice(0, MAX_UNITS);
  }
  if (facts.state !== 'running') {
    const list = await target.exec(['systemctl', 'list-units', '--state=failed', '--no-legend', '--plain', '--full'], opts);
    const units = [...eachLine(list.stdout)].map((l) => splitWords(l.text.replace(/^\W+/, ''))[0] ?? '').filter((u) => /^[\w@:.\\-]+\.[a-z]+$/.test(u)).slice(0, MAX_UNITS);
    facts.failed = await Promise.all(units.map(async (unit) => {
      const [show, journal] = await Promise.all([
        target.exec(['systemctl', 'show', '-p', 'Result', '-p', 'ExecMainStatus', unit], opts),
        target.exec(['journalctl', '-u', unit, '-n', '3', '--no-pager', '-o', 'cat'], opts),
      ]);
      const prop = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(show.stdout)?.[1] ?? null;
      return { unit, result: prop('Result'), status: prop('ExecMainStatus'), journal: journal.exitCode === 0 ? journal.stdout.trim().split('\n').filter((l) => l !== '' && !l.startsWith('-- ')).slice(-3) : [] };
    }));
  }
  return facts;
}

const describeUnit = (u: FailedUnit): string => `${u.unit} (${u.result ?? 'failed'}${u.status && u.status !== '0' ? `, status ${u.status}` : ''}${CONTAINER_HOSTILE[u.unit] ? `: ${CONTAINER_HOSTILE[u.unit]}` : ''})`;

/** judge: running passes; degraded names its failed units; starting is only a problem once it lasts. */
export function judgeNspawnBoot(f: NspawnBootFacts): Finding[] {
  if (!f.booted) return [];
  const ev = { state: f.state, uptimeS: f.uptimeS, jobs: f.jobs, failed: f.failed };
  if (f.state === 'running') return [finding('boot-running', 'info', 'the guest\'s systemd reports "running": every unit started', ev)];
  const out: Finding[] = [];
  if (f.state === 'degraded' || f.failed.length > 0) {
    const hostile = f.failed.filter((u) => CONTAINER_HOSTILE[u.unit]);
    out.push(finding('boot-degraded', 'warn', `the guest's systemd reports "${f.state ?? 'unknown'}": ${f.failed.length} failed unit(s): ${f.failed.map(describeUnit).join(', ') || 'none listed'}${f.failed[0]?.journal.length ? `; ${f.failed[0].unit} logged "${f.failed[0].journal[f.failed[0].journal.length - 1]}"` : ''}`, { ...ev, containerHostile: hostile.map((u) => u.unit) }));
  }
  if ((f.state === 'starting' || f.state === 'initializing') && (f.uptimeS ?? 0) > STUCK_AFTER_S) {
    out.push(finding('boot-stuck', 'warn', `the guest has been "${f.state}" for ${f.uptimeS} s, waiting on ${f.jobs.join(', ') || 'jobs it does not list'}`, ev));
  } else if (f.state === 'starting' || f.state === 'initializing') {
    out.push(finding('boot-starting', 'info', `the guest is still "${f.state}" (${f.uptimeS ?? '?'} s after it started)`, ev));
  } else if (f.state !== 'degraded' && out.length === 0) {
    out.push(finding('boot-state', 'warn', `the guest's systemd reports "${f.state ?? 'nothing'}" (systemctl is-system-running)`, ev));
  }
  return out;
}

/** offer: mask the failed units now (unsafe), and before the next boot from the host. */
export function offerNspawnBoot(f: NspawnBootFacts, findings: Finding[]): Fix[] {
  if (!findings.some((x) => x.code === 'boot-degraded')) return [];
  const units = f.failed.map((u) => u.unit).filter((u) => !u.endsWith('.target') && u !== 'dbus.service' && u !== 'dbus.socket');
  return units.length === 0 ? [bootAdviceFix(f.root, [])] : [maskUnitsFix(units), bootAdviceFix(f.root, units)];
}

export default defineCheck({
  id: 'nspawn.boot',
  group: 'nspawn',
  title: 'A booted guest reached "running"',
  description: 'Only for nspawn guests whose PID 1 is systemd: asks the guest\'s own systemctl (inside its namespaces, no machined needed) for `is-system-running`. `degraded` names each failed unit with its Result, exit status and last journal line, and marks the usual container-hostile units (modules-load, journald-audit.socket, networkd-wait-online, remount-fs, sysctl, host services a whole-host overlay copied in); `starting` for more than 90 s names the jobs it waits on.',
  findings: {
    'boot-degraded': { severity: 'warn', description: 'The guest is "degraded": the failed units are named, with the container-hostile ones marked.' },
    'boot-stuck': { severity: 'warn', description: 'The guest has been "starting" for more than 90 s.' },
    'boot-state': { severity: 'warn', description: 'Another state (maintenance, stopping, offline).' },
    'boot-starting': { severity: 'info', description: 'Still starting, recently booted.' },
    'boot-running': { severity: 'info', description: 'The guest reports "running".' },
  },
  fixDocs: {
    'nspawn.mask-failed-units': 'Unsafe: mask the failed units in the guest (/etc/systemd/system/UNIT -> /dev/null, undoable), daemon-reload, reset-failed.',
    'nspawn.boot-advice': 'systemctl --root=ROOT mask UNIT… before the next boot; wait with systemctl is-system-running --wait.',
  },
  appliesTo: (ctx) => {
    if (ctx.target.kind !== 'nspawn') return 'only for systemd-nspawn guests';
    if (ctx.target.pid === null) return 'the machine is not running';
    return true;
  },

  async run(ctx) {
    const facts = await gatherNspawnBoot(ctx);
    if (!facts.booted) return skipped('the guest was not booted (its PID 1 is not systemd)');
    const findings = judgeNspawnBoot(facts);
    return outcomeOf(findings, offerNspawnBoot(facts, findings));
  },
});
