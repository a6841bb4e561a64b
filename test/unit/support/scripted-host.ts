import { HostContext } from '../../../src/host/host-context.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import type { HostProcess } from '../../../src/host/procfs.js';
import type { ProcessFiles } from '../../../src/host/mount-holders.js';
import type { SchrootPaths } from '../../../src/host/schroot-state.js';
import type { FakeTarget } from './fake-target.js';

/** What a scripted host answers instead of reading /proc and running schroot. */
export interface HostScript {
  /** The host's /proc/self/mountinfo text (kernel escapes such as \040 allowed). */
  mountinfo?: string;
  processes?: Partial<HostProcess>[];
  files?: Partial<ProcessFiles>[];
  mntns?: string;
  /** `schroot --list --all-sessions` ids; null = schroot missing. */
  listed?: string[] | null;
  schrootPaths?: SchrootPaths;
}

/** A full HostProcess from the fields a test cares about. */
export function hostProcess(p: Partial<HostProcess>): HostProcess {
  return { pid: 1, ppid: 0, uid: 0, comm: 'sh', cmdline: ['sh'], rootId: null, rootLink: '/', netns: null, mntns: 'mnt:[1]', cwdLink: '/', startTime: 0, ...p } as HostProcess;
}

/**
 * A HostContext whose host facts come from the script; schroot config and session files are still
 * read for real, from `schrootPaths` (a temp dir), against the scripted mount table.
 */
export function scriptedHost(script: HostScript): HostContext {
  const host = new HostContext({ invokingEnv: {}, ...(script.schrootPaths ? { schrootPaths: script.schrootPaths } : {}) });
  const processes = (script.processes ?? []).map(hostProcess);
  const files: ProcessFiles[] = (script.files ?? []).map((f) => ({ pid: 1, comm: 'sh', mntns: 'mnt:[1]', root: '/', cwd: '/', fds: [], maps: [], complete: true, ...f }));
  const overrides = {
    mountinfo: async () => parseMountinfo(script.mountinfo ?? ''),
    processes: async () => processes,
    processFiles: async () => files,
    ownMntns: async () => script.mntns ?? 'mnt:[1]',
    schrootListedSessions: async () => (script.listed === undefined ? null : script.listed),
  };
  return Object.assign(host, overrides);
}

/**
 * The fake target seen as if its root were `root` (a host path such as "/srv/my guest" or "/"):
 * files still come from the fake's temp dir, and disposing the fake removes only that temp dir.
 */
export function rootedAt(fake: FakeTarget, root: string): FakeTarget {
  return new Proxy(fake, {
    get(t, key) {
      if (key === 'root') return root;
      if (key === 'dispose') throw new Error('dispose the original FakeTarget, not the re-rooted view');
      const v = Reflect.get(t, key, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}
