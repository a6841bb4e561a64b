/**
 * net.ping on real guests: chroot processes, an schroot session process and booted nspawn
 * machines. Guests live in the world's guest namespace (a route to 203.0.113.0/24 only), in the
 * offline namespace, or in nspawn's own --private-network; the default 8.8.8.8 target is used
 * only where there is no route at all.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { bootNspawn } from '../harness/nspawn-guest.js';
import { must } from '../harness/proc.js';
import { beginSession, createSchroot, startSessionProcess } from '../harness/schroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

const UNUSED = '203.0.113.99';

describeIntegration('net.ping on chroot, schroot and nspawn', () => {
  let w: World;
  const spec: Record<string, string> = {};

  /** ctr-doctor runs in the offline namespace; the guest's namespace is entered for every probe. */
  async function ping(target: string, args: string[]): Promise<{ exitCode: number; r: CheckResult }> {
    const res = await runTool([target, '--json', '--only', 'net.ping', '--timeout', '3000', ...args], { netns: w.net.offNsPath });
    await validateReport(res.json);
    return { exitCode: res.exitCode, r: (res.json as Report).results[0]! };
  }
  const codes = (r: CheckResult) => r.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    const c = await w.guestRoot('chroot');
    await startChrootProcess(w.net, c.root, {}, w.cleanup);
    spec.chroot = `chroot:${c.root}`;

    const off = await w.guestRoot('chroot-offline');
    await startChrootProcess(w.net, off.root, { netns: w.net.offNsPath }, w.cleanup);
    spec.offline = `chroot:${off.root}`;

    // Copies of ping as an rsync without -X leaves them: no file capability, or none at all.
    const nocap = await w.guestRoot('chroot-nocap');
    await must(['setcap', '-r', join(nocap.root, 'usr/bin/ping')]);
    await startChrootProcess(w.net, nocap.root, { uid: 1000 }, w.cleanup);
    spec.nocap = `chroot:${nocap.root}`;
    const noping = await w.guestRoot('chroot-noping');
    rmSync(join(noping.root, 'usr/bin/ping'));
    await startChrootProcess(w.net, noping.root, {}, w.cleanup);
    spec.noping = `chroot:${noping.root}`;

    const s = await w.guestRoot('schroot');
    createSchroot(w.net, s.root, w.name('s'), w.cleanup);
    const sid = await beginSession(w.name('s'), w.name('s1'));
    await startSessionProcess(w.net, sid, w.cleanup);
    spec.schroot = `session:${sid}`;

    const n = await w.guestRoot('nspawn');
    spec.nspawn = `nspawn:${(await bootNspawn(w.net, n.root, w.name('n'), w.cleanup)).machine}`;
    const p = await w.guestRoot('nspawn-private');
    spec.private = `nspawn:${(await bootNspawn(w.net, p.root, w.name('p'), w.cleanup, { privateNetwork: 'none' })).machine}`;
  }, 120_000);
  afterAll(async () => w?.dispose());

  test.each(['chroot', 'schroot', 'nspawn'])('%s: replies, with the round-trip time', async (kind) => {
    const { exitCode, r } = await ping(spec[kind]!, ['--ping-target', w.net.webV4]);
    expect(exitCode).toBe(0);
    expect(r.status).toBe('pass');
    expect(codes(r)).toEqual(['ping-ok']);
    expect(r.summary).toMatch(/ping 203\.0\.113\.10 from the guest: 2\/2 replies, rtt min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms/);
    expect(r.findings[0]?.evidence).toMatchObject({ via: 'guest', received: 2 });
  });

  test.each(['chroot', 'schroot'])('%s: every packet lost to an unused address, pointing at the namespace', async (kind) => {
    const { exitCode, r } = await ping(spec[kind]!, ['--ping-target', UNUSED]);
    expect(exitCode).toBe(1);
    expect(codes(r)).toEqual(['ping-loss']);
    expect(r.summary).toContain('100% packet loss');
    // The guest's process runs in a test namespace, not in the tool's.
    expect(r.fixes.map((f) => f.id)).toEqual(['net.fix-guest-netns']);
  });

  test('offline namespace (default target 8.8.8.8): "Network is unreachable", only lo', async () => {
    const { r } = await ping(spec.offline!, []);
    expect(codes(r)).toEqual(['ping-no-route']);
    expect(r.summary).toContain('connect: Network is unreachable');
    expect(r.findings[0]?.evidence).toMatchObject({ interfaces: ['lo'], ipv4DefaultRoute: false });
    // ctr-doctor shares this namespace with the chroot: it stands for the host here.
    expect(r.fixes.map((f) => f.id)).toEqual(['net.fix-host-network']);
    expect(r.fixes[0]?.title).toBe("chroot shares the host's network: fix it on the host");
  });

  test('nspawn --private-network without an uplink (default target): --network-veth or drop the private network', async () => {
    const { r } = await ping(spec.private!, []);
    expect(codes(r)).toEqual(['ping-no-route']);
    expect(r.fixes.map((f) => f.id)).toEqual(['net.nspawn-network-veth', 'net.nspawn-share-host-network']);
    const snippets = r.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
    expect(snippets).toContain('[Network]\nVirtualEthernet=yes');
    expect(snippets.some((x) => x?.includes('--network-veth') && !x.includes('--private-network'))).toBe(true);
  });

  test("ping without its capability, run as the desktop user: not permitted, then the host's ping in the guest's namespace", async () => {
    const { r } = await ping(spec.nocap!, ['--ping-target', w.net.webV4, '--user', '1000']);
    expect(codes(r)).toEqual(['ping-not-permitted', 'ping-ok']);
    expect(r.status).toBe('warn');
    expect(r.findings[0]?.message).toContain('Operation not permitted');
    expect(r.findings[0]?.evidence).toMatchObject({ gidInPingGroupRange: false });
    expect(r.findings[1]?.evidence).toMatchObject({ via: 'host-in-netns' });
    expect(r.fixes.map((f) => f.id)).toEqual(['net.ping-permission']);
  });

  test("no ping in the guest: the host's ping inside the guest's namespace", async () => {
    const { r } = await ping(spec.noping!, ['--ping-target', w.net.webV4]);
    expect(codes(r)).toEqual(['ping-missing', 'ping-ok']);
    expect(r.status).toBe('pass');
    const { r: lost } = await ping(spec.noping!, ['--ping-target', UNUSED]);
    expect(codes(lost)).toEqual(['ping-missing', 'ping-loss']);
  });
});
