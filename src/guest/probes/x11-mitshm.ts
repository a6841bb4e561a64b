import type { X11MitShmResponse } from '../../core/probe-types.js';
import type { SocketTarget } from './socket-connect.js';
import { withX11Connection, type X11ClientApi } from './x11-setup.js';

/** X_ShmAttach's minor opcode (the request that fails across IPC namespaces). */
const SHM_ATTACH = 1;

/** The part of node-x11's MIT-SHM extension this probe uses. */
interface ShmExt {
  major: number;
  minor: number;
  sharedPixmaps: boolean;
  majorOpcode: number;
  /** A void request; `done` fires after a round trip, with the server's error if it sent one. Returns true: the error is handled. */
  Attach(shmseg: number, shmid: number, readOnly: boolean, done: (error: XError | null) => boolean): void;
}

/** An X error as node-x11 reports it. */
interface XError extends Error {
  error?: number;
  majorOpcode?: number;
  minorOpcode?: number;
}

type Answer = Omit<Extract<X11MitShmResponse, { ok: true }>, 'elapsedMs'>;

function queryExtension(client: X11ClientApi): Promise<{ present: boolean; majorOpcode: number }> {
  return new Promise((resolve, reject) => {
    client.QueryExtension('MIT-SHM', (error, ext) => {
      if (error || !ext) reject(error ?? new Error('no QueryExtension reply'));
      else resolve(ext);
    });
  });
}

function loadShm(client: X11ClientApi): Promise<ShmExt> {
  return new Promise((resolve, reject) => {
    client.require('shm', (error, ext) => {
      if (error || !ext) reject(error ?? new Error('no MIT-SHM extension object'));
      else resolve(ext as ShmExt);
    });
  });
}

/** ShmAttach of `shmid`, read-only, then a round trip: the server's error, or null when it attached. */
function attach(client: X11ClientApi, shm: ShmExt, shmid: number): Promise<XError | null> {
  return new Promise((resolve) => {
    // The segment stays attached until the connection closes, which detaches it.
    shm.Attach(client.AllocID(), shmid, true, (error) => {
      resolve(error);
      return true;
    });
  });
}

/**
 * MIT-SHM as an X client in the guest meets it: the X11 setup, QueryExtension("MIT-SHM"),
 * QueryVersion, then (given a segment id made in the guest's IPC namespace) ShmAttach and a
 * round trip. Across IPC namespaces the server finds no such segment, or another one, and
 * answers BadAccess: what Qt and GTK programs die of.
 */
export async function probeX11MitShm(
  target: SocketTarget,
  auth: { name: string; dataHex: string } | null,
  shmid: number | null,
  timeoutMs: number,
): Promise<X11MitShmResponse> {
  const r = await withX11Connection<Answer>(target, auth, timeoutMs, async ({ vendor, client }) => {
    const query = await queryExtension(client);
    if (!query.present) return { ok: true, vendor, present: false, majorOpcode: null, version: null, sharedPixmaps: null, attach: null };
    const shm = await loadShm(client);
    const base = {
      ok: true as const,
      vendor,
      present: true,
      majorOpcode: shm.majorOpcode,
      version: `${shm.major}.${shm.minor}`,
      sharedPixmaps: shm.sharedPixmaps,
    };
    if (shmid === null) return { ...base, attach: null };
    const error = await attach(client, shm, shmid);
    if (error === null) return { ...base, attach: { ok: true } };
    const code = error.error ?? 0;
    return {
      ...base,
      attach: {
        ok: false,
        errorCode: code,
        error: error.message || `X error ${code}`,
        majorOpcode: error.majorOpcode ?? shm.majorOpcode,
        minorOpcode: error.minorOpcode ?? SHM_ATTACH,
      },
    };
  });
  return r.ok ? { ...r.value, elapsedMs: r.elapsedMs } : r;
}
