/**
 * One confined guest chain for the guest commands of a diagnosis (issue 14): on an overlay of this
 * host and on a genuine Debian 12 root, the batch run through the guest's own sh gives, command for
 * command, the exit status and output the guest's programs give alone; net.ping's, dns.resolve's and
 * hosts.hostname's commands share ONE guest command as the desktop user; a guest without sh, or a
 * guest program forging frames, still gets each command its own answer. The guest runs in the
 * world's network namespace (a chroot process there), so no lookup leaves this machine's own namespace.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, guestWorlds, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { endProbeChildren } from '../../src/guest/probe-client.js';
import { guestGetaddrinfo, guestGetaddrinfoAll, LOOKUP_ENV } from '../../src/checks/nss-lookup.js';
import { commandSlot } from '../../src/checks/command-batch.js';
import { batchArgv } from '../../src/checks/batch-script.js';
import { CommandFrameReader, type CommandFrame } from '../../src/parse/command-frames.js';
import { runChecks } from '../../src/core/runner.js';
import hostname from '../../src/checks/hosts/hostname.js';
import ping from '../../src/checks/net/ping.js';
import resolve from '../../src/checks/dns/resolve.js';
import type { ExecOptions, Target } from '../../src/core/target.js';

const OPTIONS = { pingTarget: '127.0.0.1', dnsName: 'example.test', timeoutMs: 10_000, compareHost: false };

/** The target with every guest command it starts recorded, with its options. */
function counting(target: Target): { target: Target; commands: string[][]; opts: (ExecOptions | undefined)[] } {
  const commands: string[][] = [];
  const opts: (ExecOptions | undefined)[] = [];
  const exec = target.exec.bind(target);
  target.exec = (argv: string[], o?: ExecOptions) => {
    commands.push(argv);
    opts.push(o);
    return exec(argv, o);
  };
  return { target, commands, opts };
}

/** The frames of a batch's output, read the way the collector reads them. */
function framesOf(stdout: string, marker: string, count: number): { frames: Map<number, CommandFrame>; broken: string | null } {
  const frames = new Map<number, CommandFrame>();
  const reader = new CommandFrameReader(marker, count, (f) => frames.set(f.index, f));
  reader.push(Buffer.from(stdout));
  reader.end();
  return { frames, broken: reader.broken };
}

const USER = { uid: 1000, gid: 1000 };

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
      // The desktop user's session process: the diagnosis's guest commands run as uid 1000.
      await startChrootProcess(w.net, root, { uid: 1000 }, w.cleanup);
    }, 600_000);

    afterAll(async () => {
      await endProbeChildren();
      await w.dispose();
    });

    async function open() {
      const opened = counting((await openTarget(`chroot:${root}`, { host: new HostContext({ invokingEnv: {} }) })).target);
      // Its lookups happen in the world's namespace, never this machine's.
      expect(opened.target.sharesNetns).toBe(false);
      return opened;
    }

    test('key for key the same exit status and addresses as getent alone, in one guest command', async () => {
      const names = ['127.0.0.1', 'localhost', 'ctd-lookups', 'ctd-two', 'ctd-absent.invalid', 'localhost'];
      const { target, commands } = await open();
      const batched = await guestGetaddrinfoAll(commandSlot(target), names, 10_000, { user: USER });
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

    test("each command's stdout, stderr and exit status are byte for byte what it gives alone", async () => {
      const cmds = [
        ['getent', 'ahosts', '127.0.0.1'],
        ['getent', 'ahosts', 'ctd-two'],
        ['getent', 'ahosts', 'ctd-absent.invalid'],
        ['getent', 'no-such-database', 'x'],
        ['ping', '-n', '-c', '1', '-W', '1', '127.0.0.1'],
      ];
      const { target, commands } = await open();
      const opts = { user: USER, env: { ...LOOKUP_ENV }, timeoutMs: 10_000 };
      const batched = await Promise.all(commandSlot(target).execAll(cmds.map((argv) => ({ argv, opts }))));
      expect(commands).toHaveLength(1);
      for (const [i, argv] of cmds.entries()) {
        const alone = await target.exec(argv, opts);
        const b = batched[i]!;
        // ping's times differ from run to run: its lines without the numbers.
        const strip = (t: string) => (argv[0] === 'ping' ? t.replace(/[\d.]+/g, 'N') : t);
        expect([b.exitCode, strip(b.stdout), b.stderr], argv.join(' ')).toEqual([alone.exitCode, strip(alone.stdout), alone.stderr]);
      }
      expect(batched[3]?.stderr).toMatch(/Unknown database/);
    }, 120_000);

    test('with bash as the shell (Fedora, Arch): its printf writes line by line, and the frames still parse', async () => {
      const names = ['127.0.0.1', 'localhost', 'ctd-two', 'ctd-lookups', 'ctd-absent.invalid'];
      const { target } = await open();
      const marker = `ctd-${globalThis.crypto.randomUUID()}`;
      const argv = batchArgv(
        marker,
        names.map((n) => ['getent', 'ahosts', n]),
      );
      const r = await target.exec(['bash', ...argv.slice(1)], { user: USER, env: { ...LOOKUP_ENV }, timeoutMs: 10_000 });
      const { frames, broken } = framesOf(r.stdout, marker, names.length);
      expect(broken, r.stdout + r.stderr).toBeNull();
      expect(frames.size).toBe(names.length);
      expect(frames.get(3)?.stdout).toContain('198.51.100.7');
      expect(frames.get(5)?.exitCode).toBe(2);
    }, 120_000);

    test('net.ping, dns.resolve and hosts.hostname: their guest commands in ONE guest command, as the desktop user, and they pass', async () => {
      await w.dns();
      writeFileSync(join(root, 'etc/resolv.conf'), 'nameserver 203.0.113.53\n');
      writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
      try {
        const { target, commands, opts } = await open();
        const ctx = {
          target,
          host: new HostContext({ invokingEnv: {} }),
          options: { ...OPTIONS, dnsName: 'example.test', timeoutMs: 5000 },
        };
        const results = await runChecks([ping, resolve, hostname], ctx, { timeoutMs: 8000, isRoot: true });
        for (const r of results) expect(r.status, `${r.id}: ${r.summary}`).toBe('pass');
        const guest = commands.filter((c) => ['sh', 'ping', 'getent', 'timeout'].includes(c[0]!));
        expect(guest.map((c) => c.slice(0, 2))).toEqual([['sh', '-c']]);
        const batch = guest[0]!;
        expect(batch).toEqual(expect.arrayContaining(['ping', 'timeout', 'getent', 'example.test', 'localhost', osHostname()]));
        expect(opts[commands.indexOf(batch)]?.user).toMatchObject({ uid: 1000 });
      } finally {
        writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files\n');
      }
    }, 120_000);

    test("a guest program that prints another command's frame lines (with the real marker) only prints its own output", async () => {
      const fake = join(root, 'usr/local/bin/getent');
      // Given the marker (a guest with /proc can read it in its shell's command line), it prints frame lines of command 2.
      writeFileSync(fake, '#!/bin/sh\nprintf "%s 2 O forged\\n%s 2 X 0 1 2\\n" "$2" "$2"\n');
      chmodSync(fake, 0o755);
      try {
        const { target } = await open();
        const marker = `ctd-${globalThis.crypto.randomUUID()}`;
        const argv = batchArgv(marker, [
          ['getent', 'ahosts', marker],
          ['sh', '-c', 'sleep 0.3; echo honest'],
        ]);
        const r = await target.exec(argv, { user: USER, env: { ...LOOKUP_ENV }, timeoutMs: 10_000 });
        const { frames, broken } = framesOf(r.stdout, marker, 2);
        expect(broken, r.stdout).toBeNull();
        expect(frames.get(1)).toMatchObject({ exitCode: 0, stdout: `${marker} 2 O forged\n${marker} 2 X 0 1 2\n` });
        expect(frames.get(2)).toMatchObject({ exitCode: 0, stdout: 'honest\n' });
      } finally {
        rmSync(fake);
      }
    }, 120_000);

    test('a guest without sh: each command alone, the same answers', async () => {
      const sh = join(root, 'bin/sh');
      const { target, commands } = await open();
      renameSync(sh, `${sh}.away`);
      try {
        const answers = await guestGetaddrinfoAll(commandSlot(target), ['127.0.0.1', 'localhost', 'ctd-absent.invalid'], 10_000, {
          user: USER,
        });
        expect(answers.map((a) => a.exitCode)).toEqual([0, 0, 2]);
        expect(answers[1]?.addresses).toContain('127.0.0.1');
        expect(commands.map((c) => c[0])).toEqual(['sh', 'getent', 'getent', 'getent']);
      } finally {
        renameSync(`${sh}.away`, sh);
      }
    }, 120_000);
  });
