import { cannotRun, type CheckContext, type EarlyOutcome } from '../core/check.js';

/**
 * `error: needs root` when ctr-doctor cannot look inside the guest at all (a root-only guest
 * directory, run without sudo): what it could not read is not what the guest lacks.
 */
export async function guestUnreadable(ctx: CheckContext): Promise<EarlyOutcome | null> {
  const etc = await ctx.target.stat('/etc');
  if ('error' in etc && etc.error === 'permission')
    return cannotRun(`needs root: run with sudo (cannot look inside the guest: ${etc.message})`);
  return null;
}
