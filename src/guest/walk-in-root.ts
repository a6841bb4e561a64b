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

/** The descriptor number of a handle (a FileHandle, or a number already). */
const fdOf = (handle: FileHandle | number): number => (typeof handle === 'number' ? handle : handle.fd);

/** The path that reaches `name` inside the directory held by `dir`, like openat(2). */
export function atFd(dir: FileHandle | number, name: string): string {
  return `/proc/self/fd/${fdOf(dir)}/${name}`;
}

/** The path that reaches exactly the object held by `handle` (a magic link: no name is resolved again). */
export function viaFd(handle: FileHandle | number): string {
  return `/proc/self/fd/${fdOf(handle)}`;
}

/** A guest path walked inside its root, one directory handle (`H`: FileHandles, or descriptor numbers) at a time. Close it when done. */
export interface WalkedPath<H = FileHandle> extends Omit<Walked<H>, 'held'> {
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

/** `f`'s callback call as a promise. */
function called<T>(f: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    f((error, value) => {
      if (error) reject(error);
      else resolve(value);
    });
  });
}

/** The callback fs API's call for each kind of step, on descriptor numbers (no FileHandle object to make and close per step). */
const FD_CALLS: StepCalls<number> = {
  open: (dir, name, flags) => called<number>((done) => fs.open(dir === null ? name : atFd(dir, name), flags, done)),
  reopen: (handle, flags) => called<number>((done) => fs.open(viaFd(handle), flags, done)),
  fstat: (handle) => called<fs.Stats>((done) => fs.fstat(handle, done)),
  readlink: (dir, name) => called<string>((done) => fs.readlink(atFd(dir, name), done)),
  read: (handle, buffer) => called<number>((done) => fs.read(handle, buffer, 0, buffer.length, null, done)),
  readdir: (handle) => called<string[]>((done) => fs.readdir(viaFd(handle), done)),
  // An O_PATH handle's close does no I/O (no flush, whatever the file system): made at once, not by a threadpool round trip.
  close: (handle, oPath) => {
    if (oPath) {
      fs.closeSync(handle);
      return undefined;
    }
    return called<undefined>((done) => {
      fs.close(handle, (error) => done(error ?? null, undefined));
    });
  },
};

/** Runs `steps` with `calls`, each awaited. */
async function runStepsWith<H, R>(steps: Steps<H, R>, calls: StepCalls<H>): Promise<R> {
  let next = steps.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = await callFor(next.value, calls);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}

/**
 * Runs `steps` with the promise fs API on FileHandles: the driver for callers that keep handles
 * (fixes, mount-by-fd). Every step is a threadpool round trip; the guest-files server runs
 * the same steps synchronously (runStepsSync) off the main thread.
 */
export function runStepsAsync<R>(steps: Steps<FileHandle, R>): Promise<R> {
  return runStepsWith(steps, ASYNC_CALLS);
}

/**
 * Runs `steps` asynchronously on descriptor numbers (the callback fs API): for a process that must
 * keep answering while one walk is stuck on a hung mount (the probe child), without a FileHandle
 * per step. Whoever runs it closes the numbers it is handed.
 */
export function runStepsFd<R>(steps: Steps<number, R>): Promise<R> {
  return runStepsWith(steps, FD_CALLS);
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
