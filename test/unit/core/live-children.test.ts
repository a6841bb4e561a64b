import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import {
  killLiveChildren,
  letRunsOverlap,
  liveChildCount,
  newChildScope,
  trackChild,
  type ChildScope,
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

const started = (scope?: ChildScope): FakeChild => trackChild(new FakeChild(), { scope });

// In this order: runs may overlap only from letRunsOverlap() on, for the rest of the process.
describe('live children', () => {
  it("one run at a time: its end kills whatever is left, its scope's or not", () => {
    const before = started();
    const scope = newChildScope();
    const mine = started(scope);
    expect(killLiveChildren(scope)).toBe(2);
    expect([before.killed, mine.killed]).toEqual([true, true]);
    expect(liveChildCount()).toBe(0);
  });

  it('overlapping runs (check --all): each kills only the children of its own scope', async () => {
    letRunsOverlap();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let other: FakeChild | undefined;
    const slow = (async () => {
      const scope = newChildScope();
      other = started(scope);
      await gate;
      return killLiveChildren(scope);
    })();
    const fast = await (async () => {
      const scope = newChildScope();
      const mine = started(scope);
      await new Promise((r) => setTimeout(r, 10));
      expect(killLiveChildren(scope)).toBe(1);
      return mine;
    })();
    expect(fast.killed).toBe(true);
    expect(other?.killed).toBe(false);
    release();
    expect(await slow).toBe(1);
    expect(other?.killed).toBe(true);
  });

  it('overlapping runs: a child of no scope (shared by runs) and a run of no scope are left to the end, which kills all', () => {
    const shared = trackChild(new FakeChild(), { unscoped: true });
    const scope = newChildScope();
    // unscoped wins over a scope given with it: a shared child is no one run's.
    const alsoShared = trackChild(new FakeChild(), { unscoped: true, scope } as { unscoped: true; scope: ChildScope });
    const mine = started(scope);
    expect(killLiveChildren(null)).toBe(0);
    expect(killLiveChildren(scope)).toBe(1);
    expect([shared.killed, alsoShared.killed, mine.killed]).toEqual([false, false, true]);
    expect(killLiveChildren()).toBe(2);
    expect([shared.killed, alsoShared.killed]).toEqual([true, true]);
    expect(liveChildCount()).toBe(0);
  });

  it('a child that exits leaves its scope, so that a later end does not count it', () => {
    const scope = newChildScope();
    const child = started(scope);
    expect(scope.has(child)).toBe(true);
    child.exitCode = 0;
    child.emit('exit', 0, null);
    expect(scope.size).toBe(0);
    expect(killLiveChildren(scope)).toBe(0);
  });
});
