import { runCommand } from '../host/run-command.js';
import { TargetError } from './target-error.js';

/** A container engine whose `inspect` gives the PID of a running container. */
export type ContainerEngine = 'podman' | 'docker';

const DAEMON_DOWN =
  /cannot connect to the docker daemon|is the docker daemon running|cannot connect to podman|unable to connect to podman/i;
const NO_SUCH = /no such (container|object)|no container with name or id/i;

/** Why `<engine> inspect` failed, as one line for the user plus what to try. */
function inspectFailure(engine: ContainerEngine, name: string, stderr: string): TargetError {
  const line =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? 'no output';
  if (DAEMON_DOWN.test(stderr))
    return new TargetError(
      `${engine} cannot reach its daemon to find container ${name}: ${line}`,
      `start the ${engine} daemon, or open the container with pid:N`,
    );
  if (NO_SUCH.test(stderr))
    return new TargetError(`no ${engine} container named ${name}: ${line}`, `see \`${engine} ps\` for the running containers`);
  return new TargetError(
    `\`${engine} inspect ${name}\` failed: ${line}`,
    `check that ${engine} works as this user (rootful containers need sudo)`,
  );
}

/**
 * The host PID of a running container: `<engine> inspect --format '{{.State.Pid}}' NAME`.
 * Throws TargetError (exit 2) when the engine is missing, its daemon is down, or the container is not running.
 */
export async function containerPid(engine: ContainerEngine, name: string, timeoutMs = 10_000): Promise<number> {
  const r = await runCommand([engine, 'inspect', '--format', '{{.State.Pid}}', name], { timeoutMs });
  if (r.notFound && r.exitCode !== 127)
    throw new TargetError(
      `${engine} is not installed, so ${engine}:${name} cannot be found`,
      'install it, or open the container with pid:N',
    );
  if (r.timedOut)
    throw new TargetError(
      `\`${engine} inspect ${name}\` did not answer within ${timeoutMs} ms`,
      `check that ${engine} works, or open the container with pid:N`,
    );
  if (r.exitCode !== 0) throw inspectFailure(engine, name, r.stderr || r.stdout);
  const out = r.stdout.trim().split('\n')[0]?.trim() ?? '';
  if (!/^\d+$/.test(out))
    throw new TargetError(`\`${engine} inspect ${name}\` gave no PID (got "${out.slice(0, 60)}")`, 'open the container with pid:N');
  const pid = Number(out);
  // A stopped container reports PID 0.
  if (pid === 0)
    throw new TargetError(`${engine} container ${name} is not running`, `start it (\`${engine} start ${name}\`) and try again`);
  return pid;
}
