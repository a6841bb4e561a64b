import { open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs';
import {
  InRootError,
  O_PATH,
  callFor,
  closeAll,
  readRegularSteps,
  runStepsSync,
  walkSteps,
  type CappedRead,
  type StepCalls,
  type Steps,
  type Walked,
} from './walk-steps.js';

export { InRootError, O_PATH, type CappedRead };

/** The path that reaches `name` inside the directory held by `dir`, like openat(2). */
export function atFd(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** The path that reaches exactly the object held by `handle` (a magic link: no name is resolved again). */
export function viaFd(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}

/** A guest path walked inside its root, one directory handle at a time. Close it when done. */
export interface WalkedPath extends Omit<Walked<FileHandle>, 'held'> {
  close(): Promise<void>;
}

/** The promise fs API's call for each kind of step, on FileHandles. */
const ASYNC_CALLS: StepCalls<FileHandle> = {
  open: (dir, name, flags) => open(dir === null ? name : atFd(dir, name), flags),
  reopen: (handle, flags) => open(viaFd(handle), flags),
  fstat: (handle) => handle.stat(),
  readlink: (dir, name) => readlink(atFd(dir, name)),
  read: async (handle, buffer) => (await handle.read(buffer, 0, buffer.length, null)).bytesRead,
  readdir: (handle) => readdir(viaFd(handle)),
  close: (handle) => handle.close(),
};

/**
 * Runs `steps` with the promise fs API on FileHandles: the driver for callers that keep handles
 * (fixes, probes, mount-by-fd). Every step is a threadpool round trip; the guest-files server runs
 * the same steps synchronously (runStepsSync) off the main thread.
 */
export async function runStepsAsync<R>(steps: Steps<FileHandle, R>): Promise<R> {
  let next = steps.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = await callFor(next.value, ASYNC_CALLS);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}

/**
 * Walks `guestPath` inside `root` like the kernel would after chroot(root) (see walkSteps in
 * walk-steps.ts: O_NOFOLLOW at every step, symlinks walked again inside the root, `..` never above
 * it). What is found is the object that was walked, whatever is renamed or swapped meanwhile: read
 * it through `handle`, never by its path.
 */
export async function walkInRoot(
  root: string,
  guestPath: string,
  opts: { followLast?: boolean; rootHandle?: FileHandle } = {},
): Promise<WalkedPath> {
  const { held, ...walked } = await runStepsAsync(walkSteps<FileHandle>(root, guestPath, opts));
  return { ...walked, close: () => runStepsAsync(closeAll(held)) };
}

/** Walks `guestPath`, hands the result to `use`, and closes every handle afterwards. */
export async function withWalk<T>(
  root: string,
  guestPath: string,
  opts: { followLast?: boolean; rootHandle?: FileHandle },
  use: (walked: WalkedPath) => Promise<T>,
): Promise<T> {
  const walked = await walkInRoot(root, guestPath, opts);
  try {
    return await use(walked);
  } finally {
    await walked.close();
  }
}

/**
 * Reads the regular file held by the O_PATH `handle`: it is reopened through /proc/self/fd only
 * when it is one (a device node or FIFO is never opened), then read up to `maxBytes`; null when it
 * is not a regular file (or not the inode `known` says). See readRegularSteps.
 */
export function readRegularCapped(handle: FileHandle, maxBytes: number, known?: fs.Stats): Promise<CappedRead | null> {
  return runStepsAsync(readRegularSteps(handle, maxBytes, known));
}

/** {@link walkInRoot} with synchronous system calls on descriptor numbers: for a thread or process that may block, never the CLI's main thread. */
export function walkInRootSync(root: string, guestPath: string, opts: { followLast?: boolean; rootHandle?: number } = {}): Walked<number> {
  return runStepsSync(walkSteps<number>(root, guestPath, opts), fs);
}
