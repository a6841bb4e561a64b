/**
 * The fixes of one run, keyed by id, where one id means one content: a fix offered again by
 * another check with the same title, safety and steps is the same fix (it lists both checks);
 * one offered with other content under a taken id is kept apart, never merged into the first.
 */
import type { Fix } from '../core/types.js';

/** A stable text of what a fix does, for comparing two offers of one id. */
export function fixContent(fix: Pick<Fix, 'title' | 'safety' | 'steps'>): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [k, sorted(v)]),
      );
    }
    return value;
  };
  return JSON.stringify(sorted({ title: fix.title, safety: fix.safety, steps: fix.steps }));
}

/** One fix in the registry and the checks that offered it. */
export interface RegisteredFix {
  fix: Fix;
  checkIds: string[];
  /** Set when this is a second content under an id already taken: the check whose fix holds the id. */
  clashesWith?: { checkId: string };
}

/** The fixes offered in one run, in the order first offered. */
export class FixRegistry {
  private readonly entries: RegisteredFix[] = [];
  private readonly byId = new Map<string, { content: string; entry: RegisteredFix }>();
  private readonly others = new Map<string, RegisteredFix>();

  /** Registers `fix` as offered by `checkId`; returns its entry (shared with earlier offers of the same content). */
  offer(checkId: string, fix: Fix): RegisteredFix {
    const content = fixContent(fix);
    const known = this.byId.get(fix.id);
    if (!known) {
      const entry: RegisteredFix = { fix, checkIds: [checkId] };
      this.byId.set(fix.id, { content, entry });
      this.entries.push(entry);
      return entry;
    }
    if (known.content === content) {
      if (!known.entry.checkIds.includes(checkId)) known.entry.checkIds.push(checkId);
      return known.entry;
    }
    // Another content under a taken id: its own entry, one per distinct content.
    const key = `${fix.id}\0${content}`;
    const other = this.others.get(key);
    if (other) {
      if (!other.checkIds.includes(checkId)) other.checkIds.push(checkId);
      return other;
    }
    const entry: RegisteredFix = { fix, checkIds: [checkId], clashesWith: { checkId: known.entry.checkIds[0] ?? '' } };
    this.others.set(key, entry);
    this.entries.push(entry);
    return entry;
  }

  /** Every entry, in the order first offered. */
  all(): readonly RegisteredFix[] {
    return this.entries;
  }
}
