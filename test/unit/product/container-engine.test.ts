import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import { containerPid } from '../../../src/targets/container-engine.js';
import { openDocker } from '../../../src/targets/open-docker.js';
import { TargetError } from '../../../src/targets/target-error.js';
import { HostContext } from '../../../src/host/host-context.js';
import { HOST_PATH, searchHostProgramsIn } from '../../../src/host/host-programs.js';

// A fake `docker` (and `podman`) on PATH: its answers are scripted by FAKE_ENGINE_MODE.
const dir = mkdtempSync(join(tmpdir(), 'ctd-engine-'));
let sleeper: ChildProcess;

const FAKE = `#!/bin/sh
echo "$0 $*" >> "${dir}/calls"
case "$(cat "${dir}/mode")" in
  running) cat "${dir}/pid" ;;
  stopped) echo 0 ;;
  garbage) echo "<no value>" ;;
  daemon-down) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;
  no-such) echo "Error: No such object: $4" >&2; exit 1 ;;
  podman-no-such) echo "Error: no such container $4" >&2; exit 125 ;;
  hang) exec sleep 5 ;;
esac
`;

beforeAll(() => {
  for (const name of ['docker', 'podman']) {
    writeFileSync(join(dir, name), FAKE);
    chmodSync(join(dir, name), 0o755);
  }
  // Host tools come from fixed directories with a fixed environment: the fake is put first there, and reads its script from files.
  searchHostProgramsIn([dir, ...HOST_PATH.split(':')]);
  sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
});
afterAll(() => {
  searchHostProgramsIn(null);
  sleeper.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const mode = (m: string) => {
  writeFileSync(join(dir, 'mode'), m);
  writeFileSync(join(dir, 'pid'), String(sleeper.pid));
};

describe('container engine resolution (fake docker/podman on PATH)', () => {
  test('runs `<engine> inspect --format {{.State.Pid}} NAME` and returns the PID', async () => {
    mode('running');
    expect(await containerPid('docker', 'web')).toBe(sleeper.pid);
    expect(await containerPid('podman', 'db')).toBe(sleeper.pid);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toContain('docker inspect --format {{.State.Pid}} web');
  });

  test.each([
    ['stopped', 'docker', /docker container web is not running/],
    ['garbage', 'docker', /gave no PID/],
    ['daemon-down', 'docker', /docker cannot reach its daemon to find container web: Cannot connect to the Docker daemon/],
    ['no-such', 'docker', /no docker container named web: Error: No such object: web/],
    ['podman-no-such', 'podman', /no podman container named web/],
  ] as const)('%s → one-line TargetError', async (m, engine, message) => {
    mode(m);
    const err = await containerPid(engine, 'web').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  test('an engine that does not answer is a TargetError within the bound', async () => {
    mode('hang');
    const t0 = performance.now();
    const err = await containerPid('docker', 'web', 300).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/did not answer within 300 ms/);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test('an engine that is not installed says so', async () => {
    searchHostProgramsIn([`${dir}-none`]);
    try {
      const err = await containerPid('docker', 'web').catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/docker is not installed/);
    } finally {
      searchHostProgramsIn([dir, ...HOST_PATH.split(':')]);
    }
  });

  test('docker:NAME opens the container process as a pid target named docker:NAME', async () => {
    mode('running');
    // The fake container's process is a host process: its root is the host's own /, which every
    // kind of target refuses (audit M7); the refusal names the pid that docker inspect gave.
    const err = await openDocker('web', { host: new HostContext({ invokingEnv: {} }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as Error).message).toBe(`the root of docker:web (/proc/${sleeper.pid}/root) is the host's own /, not a guest`);
  });

  test('the CLI exits 2 with one clear line when the docker daemon is unreachable', async () => {
    mode('daemon-down');
    let out = '';
    let err = '';
    const o = new PassThrough();
    o.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const e = new PassThrough();
    e.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const io: CliIo = { out: o, err: e, env: {}, isTty: false, stdinIsTty: false, color: () => false, width: 100 };
    const code = await main(['docker:web', '--json'], io);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(
      /^ctr-doctor: docker cannot reach its daemon to find container web: Cannot connect to the Docker daemon.*\(start the docker daemon, or open the container with pid:N\)/,
    );
  });
});
