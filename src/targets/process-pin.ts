import { closeSync, openSync } from 'node:fs';
import { parseStat } from '../host/procfs.js';
import { PROC_CAPS, linkOrNull, readCappedText } from '../host/proc-read.js';
import { TargetError } from './target-error.js';

/**
 * A guest's process held from opening to the last step (audit M1). Node cannot hold a pidfd, so
 * this holds a descriptor of /proc/PID: reads through it fail once that very process has gone,
 * even when another process got its pid. The start time and namespace ids are checked as well.
 */
export class ProcessPin {
  private fd: number | null;

  private constructor(
    readonly pid: number,
    readonly startTime: number,
    private readonly ns: Record<string, string | null>,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Pins `pid` now; null when it does not exist. */
  static take(pid: number): ProcessPin | null {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}`, 'r');
    } catch {
      return null;
    }
    const stat = parseStat(readCappedText(`/proc/self/fd/${fd}/stat`, PROC_CAPS.stat)?.text ?? '');
    if (!stat) {
      closeSync(fd);
      return null;
    }
    const ns = Object.fromEntries(['mnt', 'pid', 'net', 'user'].map((k) => [k, linkOrNull(`/proc/self/fd/${fd}/ns/${k}`)]));
    return new ProcessPin(pid, stat.startTime, ns, fd);
  }

  /** Why the pinned process is no longer the one that was opened, or null when it still is. */
  problem(): string | null {
    if (this.fd === null) return `process ${this.pid} is no longer held`;
    const stat = parseStat(readCappedText(`/proc/self/fd/${this.fd}/stat`, PROC_CAPS.stat)?.text ?? '');
    if (!stat || stat.state === 'Z' || stat.state === 'X') return `process ${this.pid} has exited`;
    if (stat.startTime !== this.startTime) return `process ${this.pid} was replaced by another process`;
    for (const [kind, id] of Object.entries(this.ns)) {
      if (linkOrNull(`/proc/self/fd/${this.fd}/ns/${kind}`) !== id) return `process ${this.pid} moved to another ${kind} namespace`;
    }
    return null;
  }

  /** Throws a TargetError naming the guest when the pinned process is gone or replaced. */
  verify(guest: string): void {
    const problem = this.problem();
    if (problem !== null)
      throw new TargetError(
        `${guest} changed under ctr-doctor: ${problem}`,
        'nothing more was done to it; run ctr-doctor again on the guest as it is now',
      );
  }

  /** Lets go of the descriptor. */
  release(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
