import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const distFds = path.join(repo, 'dist/src/host/inherited-fds.js');

// In a child given fd 40 without close-on-exec (as a parent leaks one; Node itself marks a few low ones
// close-on-exec at start-up, so a low number would prove nothing): the memoised set names it, and
// everything Node opens afterwards (files, O_PATH handles, fs/promises handles, sockets, child pipes) is
// close-on-exec, so a fresh scan after all that finds the very same set (why scanning once is enough).
const script = `
import { inheritableFds, scanInheritableFds } from ${JSON.stringify(distFds)};
import { openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { spawn } from 'node:child_process';
const first = [...inheritableFds()];
const held = [openSync('/etc/passwd', 'r'), openSync('/', 0o10000000 | 0o200000), openSync('/dev/null', 'w')];
const handle = await open('/etc/hostname', 'r');
const sock = '/tmp/ctd-inherited-' + process.pid + '.sock';
const server = createServer((c) => c.end()).listen(sock);
await new Promise((r) => server.on('listening', r));
const client = connect(sock);
await new Promise((r) => client.on('connect', r));
const child = spawn('sleep', ['5'], { stdio: ['pipe', 'pipe', 'pipe'] });
const later = scanInheritableFds();
child.kill();
client.destroy();
server.close();
await handle.close();
console.log(JSON.stringify({ first, later, memo: [...inheritableFds()], held: held.length }));
`;

describe('inheritableFds', () => {
  it('is scanned once, and what Node opens later never joins it (all close-on-exec)', () => {
    const leaked = openSync('/dev/null', 'r');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), leaked],
      encoding: 'utf8',
      timeout: 10_000,
    });
    closeSync(leaked);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { first: number[]; later: number[]; memo: number[] };
    expect(out.first).toContain(40);
    expect(out.later).toEqual(out.first);
    expect(out.memo).toEqual(out.first);
  });
});
