/**
 * hosts.hostname's lookups in one guest command (issue 14: fewer guest commands): on an overlay of
 * this host and on a genuine Debian 12 root, the batch run through the guest's own sh gives, key
 * for key, the exit status and addresses the guest's getent gives alone, in one command; a guest
 * without sh gets one getent per name. The guest runs in the world's network namespace (a chroot
 * process there), so no lookup leaves this machine's own namespace.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, guestWorlds, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { endProbeChildren } from '../../src/guest/probe-client.js';
import { batchArgv, guestGetaddrinfo, guestGetaddrinfoAll, LOOKUP_ENV } from '../../src/checks/nss-lookup.js';
import { parseGetentFrames } from '../../src/parse/getent-frames.js';
import hostname from '../../src/checks/hosts/hostname.js';
import type { ExecOptions, Target } from '../../src/core/target.js';

const OPTIONS = { pingTarget: '127.0.0.1', dnsName: 'example.test', timeoutMs: 10_000, compareHost: false };

/** The target with every guest command it starts recorded. */
function counting(target: Target): { target: Target; commands: string[][] } {
  const commands: string[][] = [];
  const exec = target.exec.bind(target);
  target.exec = (argv: string[], opts?: ExecOptions) => {
    commands.push(argv);
    return exec(argv, opts);
  };
  return { target, commands };
}

for (const world of guestWorlds())
  describeIntegration.skipIf(world.skip !== null)(`the guest's name lookups in one command (${world.name})`, () => {
    let w: World;
    let root: string;

    beforeAll(async () => {
      w = await createWorld(world.options);
      root = (await w.guestRoot('lookups')).root;
      // Files only (the chroot shares this machine's UTS namespace, hence its hostname): a name it lacks is "not found" (exit 2) at once, with no nameserver to wait for.
      writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files\n');
      writeFileSync(
        join(root, 'etc/hosts'),
        `127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.1.1 ctd-lookups ${osHostname()}\n198.51.100.7 ctd-two\n2001:db8::7 ctd-two\n`,
      );
      await startChrootProcess(w.net, root, {}, w.cleanup);
    }, 600_000);

    afterAll(async () => {
      await endProbeChildren();
      await w.dispose();
    });

    async function open(): Promise<{ target: Target; commands: string[][] }> {
      const opened = counting((await openTarget(`chroot:${root}`, { host: new HostContext({ invokingEnv: {} }) })).target);
      // Its lookups happen in the world's namespace, never this machine's.
      expect(opened.target.sharesNetns).toBe(false);
      return opened;
    }

    test('key for key the same exit status and addresses as getent alone, in one guest command', async () => {
      const names = ['127.0.0.1', 'localhost', 'ctd-lookups', 'ctd-two', 'ctd-absent.invalid', 'localhost'];
      const { target, commands } = await open();
      const batched = await guestGetaddrinfoAll(target, names, 10_000);
      expect(commands).toHaveLength(1);
      expect(commands[0]?.slice(0, 2)).toEqual(['sh', '-c']);
      const alone = await Promise.all(names.map((n) => guestGetaddrinfo(target, n, 10_000)));
      expect(batched.map((a) => [a.name, a.exitCode, a.addresses, a.missing, a.timedOut])).toEqual(
        alone.map((a) => [a.name, a.exitCode, a.addresses, a.missing, a.timedOut]),
      );
      expect(batched.find((a) => a.name === 'ctd-two')?.addresses.sort()).toEqual(['198.51.100.7', '2001:db8::7']);
      expect(batched.find((a) => a.name === 'ctd-absent.invalid')?.exitCode).toBe(2);
      for (const a of batched) expect(a.elapsedMs).toBeLessThan(5000);
    }, 120_000);

    test('each frame is byte for byte what getent printed alone, with its exit status', async () => {
      const names = ['127.0.0.1', 'localhost', 'ctd-two', 'ctd-absent.invalid'];
      const { target } = await open();
      const marker = `ctd-${randomUUID()}`;
      const r = await target.exec(batchArgv(marker, names), { env: { ...LOOKUP_ENV }, timeoutMs: 10_000 });
      const frames = parseGetentFrames(r.stdout, marker, names.length);
      expect(frames.ok, r.stdout + r.stderr).toBe(true);
      for (const [i, name] of names.entries()) {
        const alone = await target.exec(['getent', 'ahosts', name], { env: { ...LOOKUP_ENV }, timeoutMs: 10_000 });
        const frame = frames.ok ? frames.frames.get(i + 1) : undefined;
        expect([frame?.exitCode, frame?.stdout]).toEqual([alone.exitCode, alone.stdout]);
      }
    }, 120_000);

    test('with bash as the shell (Fedora, Arch): its printf writes line by line, and the frames still parse', async () => {
      const names = ['127.0.0.1', 'localhost', 'ctd-two', 'ctd-lookups', 'ctd-absent.invalid'];
      const { target } = await open();
      const marker = `ctd-${randomUUID()}`;
      const r = await target.exec(['bash', ...batchArgv(marker, names).slice(1)], { env: { ...LOOKUP_ENV }, timeoutMs: 10_000 });
      const frames = parseGetentFrames(r.stdout, marker, names.length);
      expect(frames.ok, r.stdout + r.stderr).toBe(true);
      expect(frames.ok && frames.frames.size).toBe(names.length);
      const two = frames.ok ? frames.frames.get(3) : undefined;
      expect(two?.stdout).toContain('198.51.100.7');
      expect(frames.ok && frames.frames.get(5)?.exitCode).toBe(2);
    }, 120_000);

    test('hosts.hostname passes with its three lookups in one guest command', async () => {
      const { target, commands } = await open();
      const out = await hostname.run({ target, host: new HostContext({ invokingEnv: {} }), options: OPTIONS });
      expect(out.status, JSON.stringify(out.findings)).toBe('pass');
      expect(commands.filter((c) => c[0] === 'sh' || c[0] === 'getent')).toHaveLength(1);
    }, 120_000);

    test('a guest without sh: one getent per name, the same answers', async () => {
      const sh = join(root, 'bin/sh');
      const { target, commands } = await open();
      renameSync(sh, `${sh}.away`);
      try {
        const answers = await guestGetaddrinfoAll(target, ['127.0.0.1', 'localhost', 'ctd-absent.invalid'], 10_000);
        expect(answers.map((a) => a.exitCode)).toEqual([0, 0, 2]);
        expect(answers[1]?.addresses).toContain('127.0.0.1');
        expect(commands.map((c) => c[0])).toEqual(['sh', 'getent', 'getent', 'getent']);
      } finally {
        renameSync(`${sh}.away`, sh);
      }
    }, 120_000);
  });
