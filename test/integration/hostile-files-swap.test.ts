/**
 * H3 (security audit): a guest directory swapped for a symlink to a host directory, in a tight
 * loop, while ctr-doctor reads below it. The reads walk directory descriptors and read through the
 * one they found, so they return the guest's file or nothing, never the host's marker.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { GuestFiles } from '../../src/guest/guest-files.js';
import { boundedRun } from '../harness/bounded-run.js';
import { spawnDaemon, type Daemon } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

const MARKER = `HOST-MARKER-${randomBytes(4).toString('hex')}`;

/** Swaps DIR and LINK (a symlink to a host directory) by renames, forever. */
const SWAPPER = `
const fs = require('node:fs');
const [dir, real, link] = process.argv.slice(1);
for (;;) {
  try { fs.renameSync(dir, real); fs.renameSync(link, dir); fs.renameSync(dir, link); fs.renameSync(real, dir); } catch {}
}`;

describeIntegration('hostile guest: a parent directory swapped for a symlink while the tool reads (H3)', () => {
  let w: World;
  let root = '';
  let swapper: Daemon;

  beforeAll(async () => {
    w = await createWorld();
    await w.dns();
    const hostDir = join(w.stateDir, 'host-dns');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'resolv.conf'), `nameserver 192.0.2.251 # ${MARKER}\n`);
    root = w.minimalRoot('swap');
    mkdirSync(join(root, 'run/dns'), { recursive: true });
    writeFileSync(join(root, 'run/dns/resolv.conf'), 'nameserver 203.0.113.53\n');
    rmSync(join(root, 'etc/resolv.conf'));
    symlinkSync('/run/dns/resolv.conf', join(root, 'etc/resolv.conf'));
    symlinkSync(hostDir, join(root, 'run/dns.link'));
    swapper = spawnDaemon(
      'swapper',
      [process.execPath, '-e', SWAPPER, join(root, 'run/dns'), join(root, 'run/dns.real'), join(root, 'run/dns.link')],
      w.cleanup,
    );
  });
  afterAll(async () => {
    await swapper?.stop();
    await w?.dispose();
  });

  test('thousands of reads during the swap return the guest file or nothing, never the host file', async () => {
    const files = new GuestFiles(root);
    let guest = 0;
    let other = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const read = await files.readFile('/etc/resolv.conf');
      if (read.ok) {
        expect(read.text).not.toContain(MARKER);
        if (read.text.includes('203.0.113.53')) guest++;
      } else other++;
    }
    // Both outcomes happened: the swap really raced the reads.
    expect(guest).toBeGreaterThan(0);
    expect(other).toBeGreaterThan(0);
  });

  test('a whole diagnosis during the swap never shows the host file', async () => {
    for (let i = 0; i < 3; i++) {
      const run = await boundedRun(`chroot:${root}`, ['--ping-target', w.net.webV4, '--dns-name', 'example.test'], {
        netns: w.net.guestNsPath,
        timeoutMs: 4000,
        env: { DISPLAY: '', XAUTHORITY: '', PULSE_SERVER: '' },
      });
      expect(run.tool.stdout).not.toContain(MARKER);
      expect(run.tool.stdout).not.toContain('192.0.2.251');
    }
  });
});
