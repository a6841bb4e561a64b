/**
 * Two fixes that change the same thing are never both applied: the steps of each fix say what
 * they change (a guest path written, linked, made or mounted on; a host mount point unmounted),
 * and of two fixes that share one, only the first by precedence is applied.
 */
import path from 'node:path';
import type { FixSafety, FixStep } from '../core/types.js';

/** One thing a step changes: `key` compares (guest path or host mount point), `shown` is printed. */
export interface Touch {
  key: string;
  shown: string;
  kind: Exclude<FixStep['kind'], 'manual' | 'exec'>;
  /** For mkdir: the mode and owner it sets; two mkdirs of one directory agree when these do. */
  attrs?: string;
}

/**
 * A guest path as it is inside the guest root: absolute, `.` and `..` resolved lexically with
 * `..` clamped at the root (as the in-root resolver clamps it), no trailing slash.
 */
export function normalGuestPath(p: string): string {
  const clean = path.posix.normalize(`/${p}`);
  return clean.length > 1 ? clean.replace(/\/+$/, '') : clean;
}

/** What the automatic steps of a fix change. `exec` steps are opaque: they change nothing that can be compared. */
export function touchesOf(steps: readonly FixStep[]): Touch[] {
  const out: Touch[] = [];
  for (const step of steps) {
    switch (step.kind) {
      case 'write':
      case 'symlink':
      case 'mount': {
        const p = normalGuestPath(step.path);
        out.push({ key: `${step.where}:${p}`, shown: p, kind: step.kind });
        break;
      }
      case 'mkdir': {
        const p = normalGuestPath(step.path);
        out.push({
          key: `${step.where}:${p}`,
          shown: p,
          kind: 'mkdir',
          attrs: `${step.mode ?? '-'} ${step.uid ?? '-'}:${step.gid ?? '-'}`,
        });
        break;
      }
      case 'umount': {
        const p = normalGuestPath(step.path);
        out.push({ key: `host-mount:${p}`, shown: p, kind: 'umount' });
        break;
      }
      case 'exec':
      case 'manual':
        break;
    }
  }
  return out;
}

const VERB: Record<Touch['kind'], string> = { write: 'write', symlink: 'write', mount: 'mount on', mkdir: 'make', umount: 'unmount' };

/** True when two changes of one key cannot both be made: two mkdirs of one directory agree when they set the same mode and owner. */
function clash(a: Touch, b: Touch): boolean {
  return !(a.kind === 'mkdir' && b.kind === 'mkdir' && a.attrs === b.attrs);
}

/** A fix of the plan as the conflict rule sees it. */
export interface Contender {
  fixId: string;
  safety: FixSafety;
  steps: readonly FixStep[];
}

/** Why a fix is left out: the fix it conflicts with and the thing both change. */
export interface Conflict {
  fixId: string;
  conflictsWith: string;
  reason: string;
}

/**
 * Of `fixes` (all meant to be applied, in plan order), those left out because an earlier one
 * changes the same thing. Precedence: a safe fix before an unsafe one, then plan order.
 */
export function findConflicts(fixes: readonly Contender[]): Conflict[] {
  const rank = (s: FixSafety): number => (s === 'safe' ? 0 : 1);
  const order = fixes.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f.safety) - rank(b.f.safety) || a.i - b.i);
  const claimed = new Map<string, { fixId: string; touch: Touch }>();
  const out: Conflict[] = [];
  for (const { f } of order) {
    const touches = touchesOf(f.steps);
    const hit = touches
      .map((t) => ({ t, owner: claimed.get(t.key) }))
      .find(({ t, owner }) => owner !== undefined && owner.fixId !== f.fixId && clash(owner.touch, t));
    if (hit?.owner) {
      const verb = VERB[hit.t.kind] === VERB[hit.owner.touch.kind] ? VERB[hit.t.kind] : 'change';
      out.push({
        fixId: f.fixId,
        conflictsWith: hit.owner.fixId,
        reason: `conflicts with ${hit.owner.fixId}: both ${verb} ${hit.t.shown}`,
      });
      continue;
    }
    for (const t of touches) if (!claimed.has(t.key)) claimed.set(t.key, { fixId: f.fixId, touch: t });
  }
  return out;
}
