/**
 * Run the built CLI as an ordinary user: `nsenter --net=NS setpriv --reuid=UID --regid=UID
 * --clear-groups --inh-caps=-all node dist/bundle/ctr-doctor.js …` (nsenter first, while still root).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from './proc.js';
import { assertBuilt, CLI_PATH, REPO_ROOT, type ToolResult } from './tool.js';

/** Why `uid` cannot run the CLI from this checkout (a directory it cannot traverse), or null. */
export function unreadableBy(uid: number): string | null {
  // Every directory from / to the CLI must be searchable by "other" (uid is neither owner nor group here).
  for (let d = dirname(CLI_PATH); ; d = dirname(d)) {
    const st = statSync(d);
    if (st.uid !== uid && (st.mode & 0o001) === 0) return `${d} is not searchable by uid ${uid} (mode ${(st.mode & 0o777).toString(8)})`;
    if (d === '/') break;
  }
  accessSync(CLI_PATH, constants.R_OK);
  return null;
}

/** `ctr-doctor ...args` as `uid` (with no capabilities) in the network namespace `netns`. */
export async function runToolAs(uid: number, args: string[], netns: string): Promise<ToolResult> {
  assertBuilt();
  if (!netns.startsWith('/run/netns/')) throw new Error(`runToolAs: netns must be a /run/netns path, got ${netns}`);
  const argv = [
    'nsenter',
    `--net=${netns}`,
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--inh-caps=-all',
    process.execPath,
    CLI_PATH,
    ...args,
  ];
  const r = await run(argv, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', HOME: '/nonexistent' },
    extendEnv: false,
    cwd: REPO_ROOT,
    timeoutMs: 60_000,
  });
  const out: ToolResult = { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  try {
    out.json = JSON.parse(r.stdout);
  } catch {
    /* not JSON */
  }
  return out;
}
