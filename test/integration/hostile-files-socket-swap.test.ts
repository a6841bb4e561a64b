/**
 * H3 (security audit), probe sockets: the directory of a guest socket is swapped for a symlink to a
 * host directory holding a listening socket, in a tight loop, while probes connect to the guest
 * socket. The probe child walks the path inside the guest root and connects through the O_PATH
 * descriptor it found, so the host listener never gets a connection.
 */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { endProbeChildren, runProbe } from '../../dist/src/guest/probe-client.js';
import { spawnDaemon, type Daemon } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

const SWAPPER = `
const fs = require('node:fs');
const [dir, real, link] = process.argv.slice(1);
for (;;) {
  try { fs.renameSync(dir, real); fs.renameSync(link, dir); fs.renameSync(dir, link); fs.renameSync(real, dir); } catch {}
}`;

describeIntegration('hostile guest: a socket directory swapped for a symlink while probes connect (H3)', () => {
  let w: World;
  let root = '';
  let swapper: Daemon;
  const servers: net.Server[] = [];
  let hostConnections = 0;
  let guestConnections = 0;

  const listen = (p: string, onConnect: () => void): Promise<void> =>
    new Promise((resolve) => {
      const server = net
        .createServer((c) => {
          onConnect();
          c.end();
        })
        .listen(p, resolve);
      servers.push(server);
    });

  beforeAll(async () => {
    w = await createWorld();
    const hostDir = join(w.stateDir, 'host-sockets');
    mkdirSync(hostDir);
    await listen(join(hostDir, 'app.sock'), () => hostConnections++);
    root = w.minimalRoot('socket-swap');
    mkdirSync(join(root, 'run/app'), { recursive: true });
    await listen(join(root, 'run/app/app.sock'), () => guestConnections++);
    const { symlinkSync } = await import('node:fs');
    symlinkSync(hostDir, join(root, 'run/app.link'));
    swapper = spawnDaemon(
      'swapper',
      [process.execPath, '-e', SWAPPER, join(root, 'run/app'), join(root, 'run/app.real'), join(root, 'run/app.link')],
      w.cleanup,
    );
  });
  afterAll(async () => {
    await swapper?.stop();
    await endProbeChildren();
    for (const s of servers) s.close();
    await w?.dispose();
  });

  test('hundreds of connects during the swap reach the guest socket or nothing, never the host one', async () => {
    const place = { rootHostPath: root, netnsPath: null, credentials: null };
    let refused = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const reply = await runProbe(place, 'unix-connect', { path: '/run/app/app.sock', timeoutMs: 500 }, 2000);
      if (!(reply.ok && reply.response.ok)) refused++;
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(hostConnections).toBe(0);
    // Both outcomes happened: the swap really raced the connects.
    expect(guestConnections).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
