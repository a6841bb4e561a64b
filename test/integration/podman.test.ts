/**
 * `podman:NAME` on a real rootful podman container (runc; crun fails on this machine's
 * hybrid cgroups) living in the world's guest netns: the tool resolves the container's PID
 * with `podman inspect`, opens it as a pid target, and diagnoses it from the inside.
 * The image is imported from a tiny rootfs tar built here (no registry pull).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { must, run } from '../harness/proc.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

const reason = requireTool('podman', 'runc', 'ldd', 'tar');
if (reason) console.warn(`SKIPPING podman tests: ${reason} (apt-get install podman runc)`);
const PODMAN = ['podman', '--runtime', 'runc', '--cgroup-manager=cgroupfs', '--events-backend=file'];

/** A rootfs tar with /bin/sh, sleep and cat and the libraries they need (from ldd). */
async function tinyRootfsTar(dir: string): Promise<string> {
  const root = join(dir, 'rootfs');
  const bins = ['/bin/sh', '/usr/bin/sleep', '/usr/bin/cat'];
  const libs = (await must(['ldd', ...bins])).match(/\/\S+\.so[.\d]*/g) ?? [];
  for (const file of [...bins, ...new Set(libs)]) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    cpSync(file, join(root, file), { dereference: true });
  }
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'run']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nuser:x:1000:\n');
  const tar = join(dir, 'rootfs.tar');
  await must(['tar', '-C', root, '-cf', tar, '.']);
  return tar;
}

describeIntegration.skipIf(reason !== null)('podman:NAME on a real container', () => {
  let w: World;
  let dir: string;
  let container: string;
  let pid: number;

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    dir = mkdtempSync(join(tmpdir(), 'ctd-podman-'));
    w.cleanup.defer('rm podman scratch dir', () => rmSync(dir, { recursive: true, force: true }));
    const image = `localhost/${w.name('img')}`;
    await must(['podman', 'import', await tinyRootfsTar(dir), image]);
    w.cleanup.defer(`podman rmi ${image}`, async () => void (await run(['podman', 'rmi', '-f', image])));
    container = w.name('c');
    w.cleanup.defer(`podman rm -f ${container}`, async () => void (await run([...PODMAN, 'rm', '-f', '-t', '0', container])));
    await must([
      ...PODMAN,
      'run',
      '-d',
      '--name',
      container,
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=4096:4096',
      '--network',
      `ns:${w.net.guestNsPath}`,
      '--dns',
      w.net.dnsV4,
      '--env',
      'DISPLAY=:97',
      image,
      '/usr/bin/sleep',
      '600',
    ]);
    pid = Number((await must(['podman', 'inspect', '--format', '{{.State.Pid}}', container])).trim());
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('resolves to the container PID and reports it as a pid target named podman:NAME', async () => {
    const r = await runTool(
      [`podman:${container}`, '--json', '--ping-target', w.net.webV4, '--dns-name', 'example.com', '--timeout', '8000'],
      { netns: w.net.offNsPath },
    );
    await validateReport(r.json);
    const rep = r.json as Report;
    expect(rep.target).toEqual({ kind: 'pid', name: `podman:${container}`, root: `/proc/${pid}/root`, pid });
    const status = (id: string) => rep.results.find((x) => x.id === id);
    // The container's own netns reaches the world's fake internet; the tool itself sits in an offline one.
    expect(status('net.ping')?.status, status('net.ping')?.summary).toBe('pass');
    expect(status('dns.resolve')?.status, status('dns.resolve')?.summary).toBe('pass');
    // podman bind-mounts its own resolv.conf (with --dns) into the container.
    expect(JSON.stringify(status('dns.resolv-conf'))).toContain('/run/containers/storage/');
    expect(status('x11.display')?.status).not.toBe('error');
    expect(
      rep.results.every((x) => x.status !== 'error'),
      JSON.stringify(rep.results.filter((x) => x.status === 'error')),
    ).toBe(true);
  });

  test('an unknown or stopped container is exit 2 with one line', async () => {
    const none = await runTool([`podman:${w.name('none')}`, '--json'], { netns: w.net.offNsPath });
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim()).toMatch(new RegExp(`^ctr-doctor: no podman container named ${w.name('none')}: .*no such`));
    await must([...PODMAN, 'stop', '-t', '0', container]);
    const stopped = await runTool([`podman:${container}`], { netns: w.net.offNsPath });
    expect(stopped.exitCode).toBe(2);
    expect(stopped.stderr.trim()).toBe(
      `ctr-doctor: podman container ${container} is not running (start it (\`podman start ${container}\`) and try again)`,
    );
  });
});
