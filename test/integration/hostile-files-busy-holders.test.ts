/**
 * H5/H3 (security audit): after "target is busy", the holders of the busy mount are found by mount
 * id (fdinfo mnt_id, O_PATH handles of cwd/root), not by the mount point's path string. A guest names
 * its files as it likes: a file called `data (deleted)` beside the mount point `data` looked, to a
 * path compare, like a file on the mount, so whoever held it (any process, a host one included) was
 * named as a holder to kill. Run in a private mount namespace over a throwaway tree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { run } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { CLI_PATH } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

const DIST = join(CLI_PATH, '../..');

const SCRIPT = `
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync } from 'node:fs';
import { realCommandRunner, runUmountStep } from '${DIST}/src/fixes/command-steps.js';
import { processesUsing } from '${DIST}/src/fixes/busy-mount.js';
import { HostContext } from '${DIST}/src/host/host-context.js';
const T = process.argv[2];
const data = T + '/guest/mnt/data';
mkdirSync(data, { recursive: true });
execFileSync('mount', ['-t', 'tmpfs', 'ctd-busy', data]);
// The guest's file beside the mount point, named to look like an unlinked file on it.
writeFileSync(T + '/guest/mnt/data (deleted)', 'decoy');
const decoy = spawn('sleep', ['60'], { stdio: [openSync(T + '/guest/mnt/data (deleted)', 'r'), 'ignore', 'ignore'] });
const holder = spawn('sleep', ['60'], { cwd: data, stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const host = new HostContext({ invokingEnv: {} });
const log = { saveBackup: async () => 'b', begin: async () => 0, finish: async () => undefined };
const runner = realCommandRunner({ exec: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) }, T + '/guest', (id) => processesUsing(host, id), host);
const out = await runUmountStep({ kind: 'umount', where: 'host', path: data, recursive: false, makeRslave: true, lazy: false, description: 'x' }, { fixId: 't', step: 0 }, runner, log);
decoy.kill('SIGKILL');
holder.kill('SIGKILL');
await new Promise((r) => setTimeout(r, 100));
execFileSync('umount', ['-l', data]);
console.log(JSON.stringify({ out, decoy: decoy.pid, holder: holder.pid }));
`;

describeIntegration('hostile guest: holders of a busy mount are found by mount id (H5)', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => w?.dispose());

  test('H5: a file named "data (deleted)" beside the busy mount point data makes its holder no holder of the mount', async () => {
    const tree = join(w.base, 'busy-holders');
    mkdirSync(tree);
    const script = join(w.stateDir, 'busy-holders.mjs');
    writeFileSync(script, SCRIPT);
    const r = await run(['unshare', '-m', '--propagation', 'private', process.execPath, script, tree], { timeoutMs: 60_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const { out, decoy, holder } = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      out: { status: string; message: string };
      decoy: number;
      holder: number;
    };
    expect(out.status).toBe('failed');
    expect(out.message).toMatch(/target is busy/);
    // The process whose cwd is on the mount is named; the one holding the look-alike file is not.
    expect(out.message).toContain(`${holder} (sleep)`);
    expect(out.message).not.toContain(`${decoy} (sleep)`);
  });
});
