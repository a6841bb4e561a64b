/**
 * Plugins through the real CLI on a real chroot guest: the documented example plugin runs
 * inside the guest's root, and broken plugins are named in one line each while every other
 * check still runs.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

const EXAMPLE = './examples/plugin-hostname/index.mjs';

describeIntegration('plugins (--plugin) on a real chroot guest', () => {
  let w: World;
  let root: string;
  let dir: string;
  const run = (args: string[]) =>
    runTool([`chroot:${root}`, '--ping-target', '203.0.113.10', '--dns-name', 'example.com', ...args], { netns: w.net.guestNsPath });

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    root = (await w.guestRoot('plugin guest')).root;
    await startChrootProcess(w.net, root, { uid: 1000 }, w.cleanup);
    dir = mkdtempSync(join(tmpdir(), 'ctd-plugin-'));
    writeFileSync(join(dir, 'syntax.mjs'), 'export const checks = [ {,} ];\n');
    writeFileSync(join(dir, 'nothing.mjs'), 'export const version = 1;\n');
    writeFileSync(
      join(dir, 'dup.mjs'),
      "export const checks = [{ id: 'dns.resolv-conf', group: 'dns', title: 't', description: 'd', findings: {}, appliesTo: () => true, run: async () => ({ status: 'pass', summary: 'ok', findings: [], fixes: [] }) }];\n",
    );
  }, 120_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await w?.dispose();
  });

  test('the example plugin checks /etc/hostname inside the guest root', async () => {
    writeFileSync(join(root, 'etc/hostname'), 'not a valid_host name!\n');
    let r = await run(['--only', 'example', '--plugin', EXAMPLE, '--json']);
    await validateReport(r.json);
    let rep = r.json as Report;
    expect(rep.results.map((x) => x.id)).toEqual(['example.hostname']);
    expect(rep.results[0]).toMatchObject({ status: 'fail', findings: [{ code: 'hostname-invalid' }] });
    expect(rep.results[0]!.fixes[0]!.steps[0]).toMatchObject({ kind: 'write', where: 'guest', path: '/etc/hostname' });
    expect(r.exitCode).toBe(1);

    unlinkSync(join(root, 'etc/hostname'));
    rep = (await run(['--only', 'example.hostname', '--plugin', EXAMPLE, '--json'])).json as Report;
    expect(rep.results[0]).toMatchObject({ status: 'warn', findings: [{ code: 'hostname-missing' }] });

    writeFileSync(join(root, 'etc/hostname'), 'guest-one\n');
    r = await run(['--only', 'example.hostname', '--plugin', EXAMPLE, '--json']);
    expect((r.json as Report).results[0]).toMatchObject({
      status: 'pass',
      findings: [{ code: 'hostname-ok', evidence: { hostname: 'guest-one' } }],
    });
    expect(r.exitCode).toBe(0);
  });

  test('broken plugins: one line each naming the plugin and the problem; the other checks still run', async () => {
    const broken = [join(dir, 'syntax.mjs'), join(dir, 'nothing.mjs'), join(dir, 'dup.mjs')];
    const r = await run(['--only', 'dns.resolv-conf,example', '--json', '--plugin', EXAMPLE, ...broken.flatMap((p) => ['--plugin', p])]);
    await validateReport(r.json);
    const rep = r.json as Report;
    expect(rep.results.map((x) => x.id).sort()).toEqual(['dns.resolv-conf', 'example.hostname']);
    expect(rep.results.find((x) => x.id === 'dns.resolv-conf')!.status).toBe('pass');
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.includes('plugin'));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`ctr-doctor: plugin ${broken[0]} not loaded: SyntaxError: Unexpected token ','`);
    expect(lines[1]).toMatch(new RegExp(`^ctr-doctor: plugin ${broken[1]} not loaded: exports no \`checks\``));
    expect(lines[2]).toBe(`ctr-doctor: plugin ${broken[2]} not loaded: check id dns.resolv-conf is already taken`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('`checks --plugin` lists the plugin check; a missing plugin is named', async () => {
    const r = await runTool(['checks', '--json', '--plugin', EXAMPLE, '--plugin', './examples/none.mjs'], { netns: w.net.offNsPath });
    expect(r.exitCode).toBe(0);
    expect((r.json as { id: string }[]).map((c) => c.id)).toContain('example.hostname');
    expect(r.stderr).toMatch(/^ctr-doctor: plugin \.\/examples\/none\.mjs not loaded: not found/m);
  });
});
