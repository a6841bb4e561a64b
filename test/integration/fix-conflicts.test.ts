/**
 * Two fixes that write the same file are never both applied (issue 12, item 8), on a real chroot:
 * dns.resolv-conf offers the verified write of /etc/resolv.conf, a plugin check offers the link
 * of /etc/resolv.conf to resolved's list (the built-in plan's own step). The plan applies the
 * first and skips the other with the reason, in the dry run's table, the text and the JSON.
 */
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { FixRunResult } from '../../src/fixes/fix-result.js';
import { describeIntegration } from '../harness/skip.js';
import { REPO_ROOT, runTool, validateFixRun, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

/** The rows of a fitted table: per row, each cell's text with every white space removed. */
function tableRows(out: string): string[][] {
  const rows: string[][] = [];
  let row: string[] | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('+-')) {
      if (row) rows.push(row);
      row = [];
    } else if (line.startsWith('|') && row) {
      line
        .split('|')
        .slice(1, -1)
        .forEach((cell, i) => {
          row![i] = (row![i] ?? '') + cell.replace(/\s/g, '');
        });
    }
  }
  return rows.filter((r) => r.length > 0 && r[0] !== 'fix');
}

describeIntegration('fix: two fixes that write one file; the exit code when problems remain', () => {
  let w: World;
  let env: Record<string, string>;
  let plugin: string;
  // The world's DNS answers in the guest namespace and the host's resolv.conf (bound privately) names it: the write is verified, so safe.
  const tool = (args: string[]) =>
    runTool(args, { netns: w.net.guestNsPath, env, hostFiles: { '/etc/resolv.conf': `nameserver ${w.net.dnsV4}\n` } });
  const REASON = 'conflicts with dns.write-resolv-conf: both write /etc/resolv.conf';

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    env = { CTR_DOCTOR_STATE_DIR: join(w.stateDir, 'journal') };
    plugin = join(w.stateDir, 'link-plugin.mjs');
    writeFileSync(
      plugin,
      `
import { enableGuestResolvedFix } from ${JSON.stringify(join(REPO_ROOT, 'dist/src/fixes/plans/dns-stub-plans.js'))};
const link = enableGuestResolvedFix({ booted: false, resolvedInstalled: true }).steps.find((s) => s.kind === 'symlink');
export const checks = [{
  id: 'fixtest.resolved-list', group: 'fixtest', title: 'resolv.conf links to resolved (test)', description: 'test plugin',
  findings: { 'not-linked': { severity: 'fail', description: 'not linked' } },
  fixDocs: { 'fixtest.link-resolved-list': 'link /etc/resolv.conf to resolved\\'s list' },
  appliesTo: () => true,
  async run(ctx) {
    if ((await ctx.target.readlink('/etc/resolv.conf')) === link.target) return { status: 'pass', summary: 'linked', findings: [], fixes: [] };
    return { status: 'fail', summary: 'not linked', findings: [{ code: 'not-linked', severity: 'fail', message: 'not linked', evidence: {} }],
      fixes: [{ id: 'fixtest.link-resolved-list', title: 'link resolv.conf', safety: 'safe', steps: [link] }] };
  },
}];
`,
    );
  });
  afterAll(async () => w?.dispose());

  const args = (root: string) => [
    'fix',
    `chroot:${root}`,
    '--plugin',
    plugin,
    '--only',
    'dns.resolv-conf,fixtest.resolved-list',
    '--dns-name',
    'example.test',
  ];

  test('dry run: the table and the JSON show the write applied and the link skipped, naming the write', async () => {
    const root = w.minimalRoot('conflict-dry');
    writeFileSync(join(root, 'etc/resolv.conf'), '');
    const text = await tool([...args(root), '--dry-run']);
    // The table's cells wrap (words broken) at 80 columns: compare each row's cells with the white space taken out.
    const rows = tableRows(text.stdout);
    expect(rows, text.stdout).toContainEqual(['dns.write-resolv-conf', 'safe:applied', expect.any(String) as string]);
    expect(rows).toContainEqual(['fixtest.link-resolved-list', `safe:skipped:${REASON}`.replace(/\s/g, ''), expect.any(String) as string]);
    const json = await tool([...args(root), '--dry-run', '--json']);
    await validateFixRun(json.json);
    const out = json.json as FixRunResult;
    expect(out.plan.map((p) => [p.fixId, p.action, p.conflictsWith ?? null, p.reason ?? null])).toEqual([
      ['dns.write-resolv-conf', 'apply', null, null],
      ['dns.chroot-resolv-conf', 'manual', null, null],
      ['fixtest.link-resolved-list', 'skipped', 'dns.write-resolv-conf', REASON],
    ]);
    expect(readFileSync(join(root, 'etc/resolv.conf'), 'utf8')).toBe('');
  });

  test('fix --yes: only the write is applied; the link check still fails, so exit 1', async () => {
    const root = w.minimalRoot('conflict-yes');
    writeFileSync(join(root, 'etc/resolv.conf'), '');
    const text = await tool([...args(root), '--yes']);
    expect(text.stdout.replace(/\s+/g, ' '), text.stderr).toContain(`1 skipped (fixtest.link-resolved-list ${REASON})`);
    expect(text.stdout).toMatch(/FIXED\s+dns\.write-resolv-conf/);
    expect(text.stdout).not.toMatch(/fixtest\.link-resolved-list step/);
    // What the write left, not a link: the skipped fix never ran.
    expect(lstatSync(join(root, 'etc/resolv.conf')).isFile()).toBe(true);
    expect(readFileSync(join(root, 'etc/resolv.conf'), 'utf8')).toContain(`nameserver ${w.net.dnsV4}`);
    expect(text.exitCode).toBe(1);

    writeFileSync(join(root, 'etc/resolv.conf'), '');
    const json = await tool([...args(root), '--yes', '--json']);
    await validateFixRun(json.json);
    const out = json.json as FixRunResult;
    await validateReport(out.after);
    expect(out.applied.map((a) => [a.fixId, a.status])).toEqual([['dns.write-resolv-conf', 'fixed']]);
    expect(out.plan.find((p) => p.fixId === 'fixtest.link-resolved-list')?.action).toBe('skipped');
    expect(out.exitCode).toBe(1);
    expect(json.exitCode).toBe(1);
  });

  test('the write not selected: the link is applied, since a conflict is only among what would be applied', async () => {
    const root = w.minimalRoot('conflict-alone');
    writeFileSync(join(root, 'etc/resolv.conf'), '');
    // Fix ids in --only: dns.resolv-conf runs, but of its fixes only the (manual) chroot advice is chosen.
    const json = await tool([
      'fix',
      `chroot:${root}`,
      '--plugin',
      plugin,
      '--only',
      'fixtest.link-resolved-list,dns.chroot-resolv-conf',
      '--dns-name',
      'example.test',
      '--yes',
      '--json',
    ]);
    await validateFixRun(json.json);
    const out = json.json as FixRunResult;
    expect(out.before.results.find((r) => r.id === 'dns.resolv-conf')?.status).toBe('fail');
    expect(out.plan.map((p) => p.fixId)).not.toContain('dns.write-resolv-conf');
    expect(out.plan.find((p) => p.fixId === 'fixtest.link-resolved-list')?.action).toBe('apply');
    expect(out.applied.map((a) => [a.fixId, a.status])).toEqual([['fixtest.link-resolved-list', 'fixed']]);
    expect(lstatSync(join(root, 'etc/resolv.conf')).isSymbolicLink()).toBe(true);
    // dns.resolv-conf still fails (the link dangles in a chroot without resolved): exit 1.
    expect(json.exitCode).toBe(1);
  });

  test('fix --yes with only manual fixes left (a nameserver that does not answer): nothing applied, exit 1, not 0', async () => {
    const root = w.minimalRoot('manual-only');
    writeFileSync(join(root, 'etc/resolv.conf'), '');
    const r = await runTool(['fix', `chroot:${root}`, '--only', 'dns.resolv-conf', '--dns-name', 'example.test', '--yes', '--json'], {
      netns: w.net.guestNsPath,
      env,
      hostFiles: { '/etc/resolv.conf': 'nameserver 192.0.2.199\n' },
    });
    await validateFixRun(r.json);
    const out = r.json as FixRunResult;
    expect(out.plan.map((p) => p.action)).toEqual(['manual', 'manual']);
    expect(out.applied).toEqual([]);
    expect(out.before.results.find((x) => x.id === 'dns.resolv-conf')?.status).toBe('fail');
    expect(r.stderr).toMatch(/Nothing to do: no fix can be applied automatically/);
    expect(out.exitCode).toBe(1);
    expect(r.exitCode).toBe(1);
    expect(readFileSync(join(root, 'etc/resolv.conf'), 'utf8')).toBe('');
  });
});
