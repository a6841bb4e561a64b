/**
 * The shipped playbook, examples/ansible/ctr-doctor.yml, run for real by Debian's
 * ansible-playbook against this machine (`ansible_connection=local`, two inventory hosts),
 * the whole run inside a network namespace of the test's own: the packed tool is installed
 * with npm (offline, into temporary prefixes), run, its reports fetched, and summarised.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { packForOfflineInstall } from '../harness/npm-pack.js';
import { run, type RunResult } from '../harness/proc.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { REPO_ROOT, assertBuilt, runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import { summarySchema } from '../../src/report/summary-schema.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FleetSummary } from '../../src/report/fleet-summary.js';
import type { Report } from '../../src/core/types.js';

const PLAYBOOK = join(REPO_ROOT, 'examples/ansible/ctr-doctor.yml');

describeIntegration.skipIf(requireTool('ansible-playbook', 'npm', 'python3') !== null)('the Ansible playbook, run for real', () => {
  let w: World;
  let dir: string;
  let guest: string;
  let reports: string;
  let play: RunResult;

  beforeAll(async () => {
    assertBuilt();
    w = await createWorld();
    dir = join(w.base, 'ansible');
    mkdirSync(dir);
    const g = await w.guestRoot('ansible-guest');
    guest = g.root;
    writeFileSync(join(guest, 'etc/resolv.conf'), '');
    await startChrootProcess(w.net, guest, { uid: 1000 }, w.cleanup);

    const tarball = await packForOfflineInstall(dir);
    // alpha: --all, but file checks only (other guests on this machine must get no packets from us);
    // beta: every check on our guest, whose network is the test's; gamma: a target that is not there (exit 2).
    writeFileSync(
      join(dir, 'inventory.ini'),
      [
        '[fleet]',
        'alpha ctr_doctor_args="--all --only dns.resolv-conf"',
        `beta ctr_doctor_args="chroot:${guest} --timeout 3000"`,
        'gamma ctr_doctor_args="nspawn:ctd-no-such-machine"',
        '[fleet:vars]',
        'ansible_connection=local',
        'ansible_python_interpreter=/usr/bin/python3',
        '',
      ].join('\n'),
    );
    reports = join(dir, 'reports');
    // A report of gamma's from an earlier run: the play must not let it stand for this one.
    mkdirSync(reports);
    writeFileSync(join(reports, 'gamma.json'), readFileSync(join(REPO_ROOT, 'test/fixtures/reports/build-3.json')));
    const env = {
      ANSIBLE_HOME: join(dir, 'home'),
      ANSIBLE_LOCAL_TEMP: join(dir, 'tmp-local'),
      ANSIBLE_REMOTE_TEMP: join(dir, 'tmp-remote'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: 'false',
      ANSIBLE_FORCE_COLOR: '0',
      TMPDIR: join(dir, 'tmp'),
      // npm installs from the cache `npm ci` warmed: the namespace has no network at all.
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      COLUMNS: '120',
    };
    mkdirSync(env.TMPDIR);
    const extra = JSON.stringify({
      ctr_doctor_tarball: tarball,
      ctr_doctor_reports: reports,
      ctr_doctor_become: false,
      // Extra vars outrank everything: never the machine's own /usr/local. One prefix per host, as two npm installs run at once.
      ctr_doctor_prefix: `${dir}/prefix-{{ inventory_hostname }}`,
      ctr_doctor_environment: { CTR_DOCTOR_PING_TARGET: '203.0.113.10', CTR_DOCTOR_DNS_NAME: 'example.com', NO_COLOR: '1' },
    });
    play = await run(
      ['nsenter', `--net=${w.net.guestNsPath}`, 'ansible-playbook', '-i', join(dir, 'inventory.ini'), PLAYBOOK, '-e', extra],
      { cwd: dir, env, timeoutMs: 400_000 },
    );
    if (process.env.CTR_DOCTOR_SHOW_PLAY) console.log(play.stdout);
  }, 480_000);
  afterAll(async () => w?.dispose());

  test('findings (exit 1) are tolerated, a host where ctr-doctor cannot run (exit 2) fails; a report per host that ran', async () => {
    // ansible-playbook exits 2 when a host failed: here gamma, and only gamma.
    expect(play.exitCode, play.stdout.slice(-4000) + play.stderr.slice(-2000)).toBe(2);
    expect(play.stdout).toMatch(/alpha\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
    expect(play.stdout).toMatch(/beta\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
    expect(play.stdout).toMatch(/gamma\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1/);
    expect(play.stdout).toMatch(/localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
    expect(play.stdout).toMatch(/fatal: \[gamma\]: FAILED! .*"rc": 2/);
    // gamma's old report is gone, not summarised as if it were this run's.
    expect(readdirSync(reports).sort()).toEqual(['alpha.json', 'beta.json']);
    const alpha = JSON.parse(readFileSync(join(reports, 'alpha.json'), 'utf8')) as Report[];
    const beta = JSON.parse(readFileSync(join(reports, 'beta.json'), 'utf8')) as Report;
    await validateReport(alpha);
    await validateReport(beta);
    expect(alpha.find((r) => r.target.root === guest)?.results).toEqual([
      expect.objectContaining({ id: 'dns.resolv-conf', status: 'fail' }),
    ]);
    expect(beta.target).toMatchObject({ kind: 'chroot', root: guest });
    expect(beta.results.length).toBeGreaterThan(5);
    expect(beta.results.find((r) => r.id === 'dns.resolv-conf')?.status).toBe('fail');
    // The run's environment reached the tool: it pinged the documentation address it was given.
    expect(JSON.stringify(beta.results.find((r) => r.id === 'net.ping'))).toContain('203.0.113.10');
  });

  test('the play printed the fleet table of the hosts that ran, and removed its work directories', () => {
    expect(play.stdout).toContain('TASK [ctr-doctor summary]');
    expect(play.stdout).toMatch(/\| host\s+\| guest\s+\| kind/);
    expect(play.stdout).toMatch(/dns\.resolv-conf/);
    expect(readdirSync(join(dir, 'tmp')).filter((n) => n.includes('ctr-doctor'))).toEqual([]);
    expect(existsSync(join(dir, 'prefix-alpha/bin/ctr-doctor'))).toBe(true);
  });

  test('ctr-doctor summary of the fetched reports: a row per guest from both files, exit code 1', async () => {
    const text = await runTool(['summary', reports], { netns: w.net.guestNsPath, env: { COLUMNS: '100' } });
    expect(text.exitCode, text.stderr).toBe(1);
    expect(text.stderr).toBe('');
    const lines = text.stdout.split('\n');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(100);
    expect(text.stdout).toMatch(/\| dns\.resolv-conf\s+\| fail\s+\| 1\s+\| [2-9]\d*\s+\|/);

    const json = await runTool(['summary', '--json', reports], { netns: w.net.guestNsPath });
    expect(json.exitCode).toBe(1);
    const s = json.json as FleetSummary;
    const validate = new Ajv2020({ allErrors: true }).compile(summarySchema);
    expect(validate(s), JSON.stringify(validate.errors)).toBe(true);
    const ours = s.rows.filter((r) => r.guest === guest);
    expect(ours.map((r) => r.file.split('/').pop()).sort()).toEqual(['alpha.json', 'beta.json']);
    expect(ours.every((r) => r.failing.includes('dns.resolv-conf') && r.hostFrom === 'report')).toBe(true);
    // Both inventory hosts are this one machine: the reports name it, so the fleet has one host.
    expect(s.totals.hosts).toBe(1);
    expect(s.totals.files).toBe(2);
  });

  test('a report cut short among them is named in one line, the rest still summarised, exit code 2', async () => {
    writeFileSync(join(reports, 'gamma.json'), readFileSync(join(reports, 'beta.json'), 'utf8').slice(0, 200));
    const r = await runTool(['summary', reports], { netns: w.net.guestNsPath });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^ctr-doctor: \S+\/gamma\.json: not JSON \(/)]);
    expect(r.stdout).toMatch(/dns\.resolv-conf/);
  });
});
