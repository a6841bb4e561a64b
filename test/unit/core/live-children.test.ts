import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import {
  killLiveChildren,
  letRunsOverlap,
  liveChildCount,
  trackChild,
  withChildScope,
  type TrackedChild,
} from '../../../src/core/live-children.js';

/** A child that records its kill instead of being a process. */
class FakeChild extends EventEmitter implements TrackedChild {
  readonly pid = undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  kill(): boolean {
    this.killed = true;
    this.signalCode = 'SIGKILL';
    this.emit('exit', null, 'SIGKILL');
    return true;
  }
  ref(): void {}
}

const started = (): FakeChild => trackChild(new FakeChild());

// In this order: runs may overlap only from letRunsOverlap() on, for the rest of the process.
describe('live children', () => {
  it('one run at a time: its end kills whatever is left, without a scope (no AsyncLocalStorage)', async () => {
    const before = started();
    const inside = await withChildScope(async () => {
      const mine = started();
      expect(killLiveChildren()).toBe(2);
      return mine;
    });
    expect([before.killed, inside.killed]).toEqual([true, true]);
    expect(liveChildCount()).toBe(0);
  });

  it('overlapping runs (check --all): each kills only the children it started', async () => {
    letRunsOverlap();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let other: FakeChild | undefined;
    const slow = withChildScope(async () => {
      other = started();
      await gate;
      return killLiveChildren();
    });
    const fast = await withChildScope(async () => {
      const mine = started();
      await new Promise((r) => setTimeout(r, 10));
      expect(killLiveChildren()).toBe(1);
      return mine;
    });
    expect(fast.killed).toBe(true);
    expect(other?.killed).toBe(false);
    release();
    expect(await slow).toBe(1);
    expect(other?.killed).toBe(true);
  });
});
