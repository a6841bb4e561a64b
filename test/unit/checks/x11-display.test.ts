import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import check from '../../../src/checks/x11/display.js';
import { FakeTarget, fakeContext, type FakeScenario } from '../support/fake-target.js';
import { hostWithX11Sockets, listenUnix } from '../support/unix-socket.js';

const made: FakeTarget[] = [];
const servers: net.Server[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

let hostDir: string;
let liveFive: { display: number; path: string };
let deadSix: { display: number; path: string };
beforeAll(async () => {
  hostDir = mkdtempSync(path.join(os.tmpdir(), 'ctd-x11host-'));
  liveFive = { display: 5, path: path.join(hostDir, 'X5') };
  deadSix = { display: 6, path: path.join(hostDir, 'X6') };
  servers.push(await listenUnix(liveFive.path));
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(hostDir, { recursive: true, force: true });
});

async function run(scenario: FakeScenario, hostSockets: { display: number; path: string }[] = [], setup?: (t: FakeTarget) => Promise<void>) {
  const target = new FakeTarget(scenario);
  made.push(target);
  await setup?.(target);
  return check.run(fakeContext(target, {}, hostWithX11Sockets(hostSockets)), new AbortController().signal);
}

const codes = (o: Awaited<ReturnType<typeof run>>) => o.findings.map((f) => f.code);
const snippets = (o: Awaited<ReturnType<typeof run>>) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));

describe('x11.display', () => {
  it.each([
    ['DISPLAY unset', {}, 'fail', 'display-unset'],
    ['DISPLAY empty', { DISPLAY: '' }, 'fail', 'display-unset'],
    ['DISPLAY malformed', { DISPLAY: 'nonsense' }, 'fail', 'display-invalid'],
    ['DECnet display', { DISPLAY: 'host::0' }, 'fail', 'display-invalid'],
    ['TCP display', { DISPLAY: 'localhost:10.0' }, 'pass', 'display-remote'],
    ['no such display anywhere', { DISPLAY: ':7' }, 'fail', 'display-socket-missing'],
  ] as const)('%s → %s', async (_name, env, status, code) => {
    const outcome = await run({ env: { ...env } });
    expect(outcome.status).toBe(status);
    expect(codes(outcome)).toContain(code);
  });

  it('quotes firefox\'s error and suggests the host\'s live display, not a dead one', async () => {
    const outcome = await run({ kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 1, argv: [] } }, [liveFive, deadSix]);
    const unset = outcome.findings.find((f) => f.code === 'display-unset');
    expect(unset?.message).toContain('Error: no DISPLAY environment variable specified');
    expect(unset?.evidence.liveDisplays).toEqual([':5']);
    expect(snippets(outcome)).toContain('[Exec]\nEnvironment=DISPLAY=:5');
    expect(snippets(outcome).some((s) => s?.includes('--setenv=DISPLAY=:5'))).toBe(true);
  });

  it('passes when the socket exists in the guest', async () => {
    const outcome = await run({ env: { DISPLAY: ':7' } }, [], async (t) => {
      servers.push(await listenUnix(t.hostPath('/tmp/.X11-unix/X7')));
    });
    expect(outcome.status).toBe('pass');
    expect(codes(outcome)).toContain('display-ok');
  });

  it('a regular file where the socket should be is not a display', async () => {
    const outcome = await run({ env: { DISPLAY: ':7' }, files: { '/tmp/.X11-unix/X7': 'not a socket' } });
    expect(codes(outcome)).toContain('display-socket-missing');
  });

  it('warns when the host has the display but the guest lacks the socket, offering the schroot fstab bind', async () => {
    const outcome = await run({ kind: 'schroot', schroot: { chroot: 'jammy', session: null }, env: { DISPLAY: ':5' } }, [liveFive]);
    expect(outcome.status).toBe('warn');
    expect(codes(outcome)).toContain('display-socket-not-in-guest');
    expect(snippets(outcome)).toContain('/tmp/.X11-unix /tmp/.X11-unix none rw,bind 0 0');
  });

  it('a stale host socket is not offered as a live display', async () => {
    const outcome = await run({ env: { DISPLAY: ':6' } }, [deadSix]);
    expect(codes(outcome)).toContain('display-socket-missing');
    expect(codes(outcome)).not.toContain('host-displays');
  });

  it('suggests a chroot export when unset', async () => {
    const outcome = await run({ kind: 'chroot' }, [liveFive]);
    expect(snippets(outcome)).toContain('export DISPLAY=:5');
  });
});
