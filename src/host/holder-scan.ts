import * as fs from 'node:fs';
import { holderScanMain, type HolderScanInput, type HolderScanMessage, type RawHolder } from './mount-holders-by-id.js';
import { runOnScanThread } from './proc-scan-worker.js';
import type { MountHolder, MountHolderScan } from '../core/host.js';

/**
 * How long past its budget the main thread waits for the scan thread's last word: a read that blocks
 * (a process's maps while its memory lock is held) must not hold the run; the holders sent by then stand.
 */
const GRACE_MS = 100;

/** Runs the holder scan inline, on this thread (no scan thread could be had). */
function inline(input: HolderScanInput): HolderScanMessage[] {
  const out: HolderScanMessage[] = [];
  holderScanMain(input, fs, (m) => out.push(m));
  return out;
}

/** Folds the scan's messages into its result; `done` is absent when it was cut off. */
function resultOf(input: HolderScanInput, messages: readonly HolderScanMessage[], waitedMs: number): MountHolderScan {
  const byId = new Map(input.mounts.map((m) => [m.id, m.mountPoint]));
  const raw: RawHolder[] = messages.flatMap((m) => (m.kind === 'holders' ? m.holders : []));
  const holders: MountHolder[] = raw.map((h) => ({ ...h, mountPoint: byId.get(h.mountId) ?? '?' }));
  const done = messages.find((m) => m.kind === 'done');
  const progress = [...messages].reverse().find((m) => m.kind === 'progress');
  if (done)
    return {
      holders,
      finished: !done.stoppedAtBudget,
      read: done.read,
      total: done.total,
      unreadable: done.unreadable,
      elapsedMs: done.elapsedMs,
      budgetMs: input.budgetMs,
    };
  return {
    holders,
    finished: false,
    read: progress?.read ?? 0,
    total: input.pids.length,
    unreadable: progress?.unreadable ?? 0,
    elapsedMs: Math.round(waitedMs),
    budgetMs: input.budgetMs,
  };
}

/**
 * Who holds these mounts, read off the main thread (the host-scan thread of proc-scan-worker) within
 * `input.budgetMs`: a busy host's 10,000 processes take about 0.6 s of reads, so a budget smaller than
 * that returns what was found so far and says how far it got (finished: false).
 */
export function scanMountHolders(asked: HolderScanInput): Promise<MountHolderScan> {
  const started = performance.now();
  // The budget counts from now, also when the scan thread is still busy with the process scan's owners.
  const input: HolderScanInput = { ...asked, askedAt: performance.timeOrigin + started };
  return new Promise((resolve) => {
    const messages: HolderScanMessage[] = [];
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(resultOf(input, messages, performance.now() - started));
    };
    const fallback = (): void => {
      // The thread died or could not start: the same reads here, within the same budget.
      messages.length = 0;
      messages.push(...inline(input));
      settle();
    };
    const run = runOnScanThread<HolderScanInput, HolderScanMessage>(
      holderScanMain,
      input,
      (m) => {
        messages.push(m);
        if (m.kind === 'done') settle();
        return m.kind === 'done';
      },
      () => {
        if (!messages.some((m) => m.kind === 'done')) fallback();
      },
    );
    if (!run) {
      fallback();
      return;
    }
    if (Number.isFinite(input.budgetMs))
      timer = setTimeout(() => {
        run.abandon();
        settle();
      }, input.budgetMs + GRACE_MS);
  });
}
