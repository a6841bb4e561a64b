import { describe, expect, it } from 'vitest';
import { runOnScanThread } from '../../../src/host/proc-scan-worker.js';

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
