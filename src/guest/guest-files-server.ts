/**
 * The guest-files server: a child process that answers GuestFiles' operations (stat, read,
 * readlink, readdir) with synchronous system calls, so that `check --all`'s thousands of walk
 * steps cost a few µs each here instead of a threadpool round trip each on the CLI's main thread.
 * A process, not a thread: a thread stuck in a system call (a hung FUSE or NFS mount in a guest)
 * cannot be left behind (Node joins every thread at exit, process.exit() too), a process can be
 * killed. It walks from the CLI's held root handle (/proc/CLI-PID/fd/N, the very directory), runs
 * no program, and answers each request on its own, in order (guest-files-client.ts relies on it).
 */
import * as fs from 'node:fs';
import { fileOpSteps, type FileOp } from './guest-file-ops.js';
import { runStepsSync } from './walk-steps.js';

/** One request: `op` on a guest path, walked from `walkRoot`; `shownRoot` is the root as reports show it. */
export interface ServerRequest {
  id: number;
  op: FileOp;
  walkRoot: string;
  shownRoot: string;
}

/** A test's stand-in for a hung mount (CTR_DOCTOR_TEST_HANG_PATH, set by tests only): a read of this guest path (a FIFO) blocks. */
const hangPath = process.env.CTR_DOCTOR_TEST_HANG_PATH;

function serve(request: ServerRequest): void {
  if (hangPath !== undefined && request.op.op === 'read' && request.op.guestPath === hangPath)
    // Blocks until a writer comes (none will): the request never answers, as on a hung mount.
    fs.openSync(`${request.walkRoot}${hangPath}`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  const answer = runStepsSync(fileOpSteps<number>(request.op, request.walkRoot, request.shownRoot), fs);
  process.send!({ id: request.id, answer });
}

if (process.send) {
  process.on('message', (batch: ServerRequest[]) => {
    for (const request of batch) serve(request);
  });
  // The CLI is gone (or has let us go): nothing more will be asked.
  process.on('disconnect', () => process.exit(0));
  // Deadlines run from here: a slow start-up is not a hung request.
  process.send({ ready: true });
}
