import { shellQuote } from '../fixes/plans/shell-quote.js';
import type { Fix, Report } from '../core/types.js';

/** The TARGET word that names this target again, for commands the report suggests. */
export function targetSpecOf(target: Report['target']): string | null {
  switch (target.kind) {
    case 'chroot': return `chroot:${target.name}`;
    case 'schroot': return `session:${target.name}`;
    case 'nspawn': return `nspawn:${target.name}`;
    case 'pid': return target.pid !== null ? `pid:${target.pid}` : null;
    case 'self': return 'self';
    case 'host': return null;
  }
}

/**
 * The command that applies just this fix: `ctr-doctor fix TARGET --only FIX-ID` (fix accepts fix
 * ids in --only), with `--unsafe` for an unsafe one; every word shell-quoted.
 */
export function fixCommand(spec: string | null, fix: Fix): string {
  const words = ['ctr-doctor', 'fix', ...(spec ? [spec] : []), '--only', fix.id, ...(fix.safety === 'unsafe' ? ['--unsafe'] : [])];
  return words.map(shellQuote).join(' ');
}
