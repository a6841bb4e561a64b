import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { askStatLines, runOnScanThread, startProcessScan } from '../../../src/host/proc-scan-worker.js';
import { listHostProcesses, processOwnersKnown, ProcEntry } from '../../../src/host/procfs.js';
import { identityOf } from '../../../src/host/proc-read.js';

/** Runs `fn` on the host-scan thread; resolves with its messages up to the one `last` accepts, or the error. */
function onThread<I, M>(fn: (input: I, fs: typeof import('node:fs'), emit: (m: M) => void) => void, input: I, last: (m: M) => boolean) {
  return new Promise<{ messages: M[]; error?: string }>((resolve) => {
    const messages: M[] = [];
    const run = runOnScanThread<I, M>(
      fn,
      input,
      (m) => {
        messages.push(m);
        if (last(m)) resolve({ messages });
        return last(m);
      },
      (error) => resolve({ messages, error }),
    );
    expect(run).not.toBeNull();
  });
}

describe('runOnScanThread: a self-contained function run off the main thread', () => {
  it('runs it with its input and node:fs, and hands its messages over in order; the thread serves the next run too', async () => {
    const count = (input: { upTo: number }, fs: typeof import('node:fs'), emit: (m: { n: number; fs: boolean }) => void): void => {
      for (let n = 1; n <= input.upTo; n++) emit({ n, fs: typeof fs.readdirSync === 'function' });
    };
    const first = await onThread(count, { upTo: 3 }, (m) => m.n === 3);
    expect(first.messages).toEqual([1, 2, 3].map((n) => ({ n, fs: true })));
    const second = await onThread(count, { upTo: 1 }, (m) => m.n === 1);
    expect(second.messages).toEqual([{ n: 1, fs: true }]);
  });

  it('reports a function that throws as an error, not as a message', async () => {
    const boom = (): void => {
      throw new Error('boom');
    };
    const r = await onThread(boom, null, () => true);
    expect(r).toEqual({ messages: [], error: 'boom' });
  });
});

describe('the process scan on the scan thread: roots, then owners', () => {
  it("lists every process with its root's dev:ino, and records the owners the thread sends after the rows", async () => {
    // A child that is gone before its owner is asked for: a lazy read would find nothing (-1).
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    startProcessScan();
    const all = await listHostProcesses();
    expect(all.find((p) => p.pid === process.pid)?.rootId).toBe(identityOf('/'));
    const entry = all.find((p) => p.pid === child.pid);
    expect(entry?.rootId).toBe(identityOf('/'));
    await processOwnersKnown();
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(entry).toBeInstanceOf(ProcEntry);
    expect((entry as ProcEntry).ownerUid).toBe(process.geteuid?.());
  });

  it('answers /proc/PID/stat of the pids it is asked about, null for one that is gone', async () => {
    // A thread is there (an idle one ends after a while): any run starts one.
    const ping = (_input: null, _fs: typeof import('node:fs'), emit: (m: number) => void): void => emit(1);
    await onThread(ping, null, () => true);
    const lines = await askStatLines([process.pid, 2 ** 30]);
    expect(lines?.[0]).toMatch(new RegExp(`^${process.pid} \\(`));
    expect(lines?.[1]).toBeNull();
  });
});
