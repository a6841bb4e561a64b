import type { CheckContext } from './check.js';

/**
 * Whether a desktop check (x11.*, audio.*, dconf.*, session.user, dbus.session, wayland.*,
 * audio.pipewire…) applies: `true`, or the one reason they all skip with. No guest chosen, or no
 * desktop session in the guest (only system daemons such as messagebus run, and neither --user
 * nor the guest's passwd names a desktop user), means there is nothing of a desktop to look at.
 * Use it as `appliesTo: (ctx) => desktopSessionApplies(ctx, 'what this check looks at')`.
 */
/** How a no-session reason starts when privilege, not the guest, is what is missing. */
export const NEEDS_ROOT = 'needs root';

export function desktopSessionApplies(ctx: CheckContext, what = 'the desktop session'): true | string {
  const { target } = ctx;
  if (target.kind === 'host') return `no guest chosen: ${what} is checked inside a guest`;
  // Without privilege the session is unknown: the check runs and names the missing privilege itself.
  if (target.session === null && target.noSessionReason?.startsWith(NEEDS_ROOT)) return true;
  if (target.session === null) return target.noSessionReason ?? 'no desktop session runs in the guest';
  return true;
}
