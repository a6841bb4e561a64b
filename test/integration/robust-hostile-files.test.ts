/**
 * Hostile guest files, through the real CLI on real guest directories: every case ends with a
 * schema-valid report and a status for every check, within `--timeout` + 0.5 s, with no
 * stack trace and nothing read from the host. Reads are capped at 1 MiB (GuestFiles) and
 * the capped file says so in its finding.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { boundedRun, type BoundedRun } from '../harness/bounded-run.js';
import { must } from '../harness/proc.js';
import { guestPath, umountTree } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

/** Roomy: on a loaded 2-core machine a probe child alone can take a second to start. */
const TIMEOUT_MS = 4000;
/** Only ever on the host: a report that contains it read a host file. */
const SECRET = `HOST-SECRET-${randomBytes(4).toString('hex')}`;

describeIntegration('hostile guest files', () => {
  let w: World;
  let secretFile = '';
  let n = 0;

  /** A fresh minimal guest with `/etc/resolv.conf` replaced by `make(hostPathOfIt)`. */
  const guestWith = (make: (resolvConf: string, root: string) => void | Promise<void>) => async (): Promise<string> => {
    const root = w.minimalRoot(`hostile-${++n}`);
    const file = guestPath(root, '/etc/resolv.conf');
    rmSync(file, { force: true });
    await make(file, root);
    return root;
  };

  const diagnose = async (root: string, env: Record<string, string> = {}): Promise<BoundedRun> => {
    const run = await boundedRun(`chroot:${root}`, ['--ping-target', w.net.webV4, '--dns-name', 'example.test'], {
      netns: w.net.guestNsPath,
      timeoutMs: TIMEOUT_MS,
      env: { DISPLAY: '', XAUTHORITY: '', PULSE_SERVER: '', ...env },
    });
    expect(run.tool.stdout).not.toContain(SECRET);
    expect(run.tool.stderr).not.toContain(SECRET);
    return run;
  };

  beforeAll(async () => {
    w = await createWorld();
    await w.dns();
    secretFile = join(w.stateDir, 'host-resolv.conf');
    writeFileSync(secretFile, `nameserver 192.0.2.251 # ${SECRET}\n`);
  });
  afterAll(async () => w?.dispose());

  const codes = (run: BoundedRun, id = 'dns.resolv-conf'): string[] => run.result(id).findings.map((f) => f.code);

  test('a symlink loop is a finding, not a hang', async () => {
    const root = await guestWith((f) => {
      symlinkSync('resolv.b', f);
      symlinkSync('resolv.conf', `${f.replace(/resolv\.conf$/, '')}resolv.b`);
    })();
    const run = await diagnose(root);
    expect(run.result('dns.resolv-conf').status).toBe('fail');
    expect(codes(run)).toContain('resolv-conf-symlink-loop');
  });

  test('an absolute symlink to a host file is re-rooted and never read', async () => {
    const root = await guestWith((f) => symlinkSync(secretFile, f))();
    const run = await diagnose(root);
    expect(codes(run)).toContain('resolv-conf-dangling-symlink');
    const dangling = run.result('dns.resolv-conf').findings.find((f) => f.code === 'resolv-conf-dangling-symlink');
    expect(dangling?.evidence.existsOnHost).toBe(true);
  });

  test('a ../ symlink climbing out of the root is clamped at the guest root', async () => {
    const root = await guestWith((f) => symlinkSync(`${'../'.repeat(12)}${secretFile.slice(1)}`, f))();
    const run = await diagnose(root);
    expect(codes(run)).toEqual(expect.arrayContaining(['resolv-conf-symlink-escapes-root', 'resolv-conf-dangling-symlink']));
  });

  test('a FIFO (a naive read blocks forever) is "not a regular file"', async () => {
    const root = await guestWith(async (f) => void (await must(['mkfifo', f])))();
    const run = await diagnose(root);
    expect(codes(run)).toContain('resolv-conf-not-a-file');
  });

  test('a link to /dev/zero and a character device in its place are never read', async () => {
    const linked = await guestWith(async (f, root) => {
      mkdirSync(guestPath(root, '/dev'), { recursive: true });
      await must(['mknod', guestPath(root, '/dev/zero'), 'c', '1', '5']);
      symlinkSync('/dev/zero', f);
    })();
    expect(codes(await diagnose(linked))).toContain('resolv-conf-not-a-file');
    const device = await guestWith(async (f) => void (await must(['mknod', f, 'c', '1', '5'])))();
    expect(codes(await diagnose(device))).toContain('resolv-conf-not-a-file');
  });

  test('a 1 GB sparse file is read up to the 1 MiB cap, and the finding says so', async () => {
    const root = await guestWith(async (f) => {
      // Real lines for the first 1.2 MiB, then a hole up to 1 GB.
      writeFileSync(f, `nameserver ${w.net.dnsV4}\n${'# padding line of a huge resolv.conf\n'.repeat(34_000)}`);
      await must(['truncate', '-s', '1G', f]);
    })();
    const run = await diagnose(root);
    const truncated = run.result('dns.resolv-conf').findings.find((f) => f.code === 'resolv-conf-truncated');
    expect(truncated?.message).toMatch(/larger than 1048576 bytes; only the start was read/);
    expect(truncated?.evidence.size).toBe(1024 ** 3);
    expect(codes(run)).toContain('resolv-conf-nameservers');
  });

  test('binary garbage is "binary data", and non-UTF-8 text still parses', async () => {
    const garbage = await guestWith((f) => writeFileSync(f, randomBytes(4096)))();
    expect(codes(await diagnose(garbage))).toContain('resolv-conf-binary');
    const latin1 = await guestWith((f) =>
      writeFileSync(f, Buffer.concat([Buffer.from(`# r\xe9solveur du caf\xe9 \xff\xfe\nnameserver ${w.net.dnsV4}\n`, 'latin1')])),
    )();
    const run = await diagnose(latin1);
    expect(run.result('dns.resolv-conf').status).toBe('pass');
    const resolve = run.result('dns.resolve');
    expect(resolve.status, JSON.stringify(resolve.findings)).toBe('pass');
  });

  test('an Xauthority file with truncated records still gives x11.socket a status', async () => {
    const root = await guestWith((f) => writeFileSync(f, `nameserver ${w.net.dnsV4}\n`))();
    // One whole record, then a record cut inside its cookie, then a lone length byte.
    const whole = Buffer.concat([
      Buffer.from([0x01, 0x00, 0, 4]),
      Buffer.from('host'),
      Buffer.from([0, 1]),
      Buffer.from('7'),
      Buffer.from([0, 18]),
      Buffer.from('MIT-MAGIC-COOKIE-1'),
      Buffer.from([0, 16]),
      randomBytes(16),
    ]);
    writeFileSync(
      guestPath(root, '/home/ctruser/.Xauthority'),
      Buffer.concat([whole, whole.subarray(0, whole.length - 5), Buffer.from([0xff])]),
    );
    const run = await diagnose(root, { DISPLAY: ':7', XAUTHORITY: '/home/ctruser/.Xauthority' });
    const x11 = run.result('x11.socket');
    expect(['fail', 'warn']).toContain(x11.status);
    expect(x11.findings.map((f) => f.code)).toContain('x11-socket-missing');
  });

  test('a mount point named with a backslash and a newline is decoded, not split', async () => {
    const root = await guestWith((f) => writeFileSync(f, `nameserver ${w.net.dnsV4}\n`))();
    const odd = guestPath(root, '/mnt/we\\ird\nname \t.');
    mkdirSync(odd, { recursive: true });
    await must(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'ctd-robust-odd', odd]);
    w.cleanup.defer(`umount ${JSON.stringify(odd)}`, () => umountTree(odd));
    const run = await diagnose(root);
    const leftover = run.report.results.find((r) => r.id === 'mounts.leftover');
    if (leftover) {
      // No process uses the guest, so the tmpfs is a leftover mount, named exactly.
      expect(leftover.status).not.toBe('error');
      expect(JSON.stringify(leftover)).toContain(JSON.stringify('/mnt/we\\ird\nname \t.').slice(1, -1));
    }
    expect(run.result('dns.resolv-conf').status).toBe('pass');
    await umountTree(odd);
  });
});
