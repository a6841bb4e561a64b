import path from 'node:path';
import type { CheckContext } from '../core/check.js';
import { effectiveSetupFiles } from '../parse/schroot-config.js';

import type { SchrootFstab } from '../fixes/plans/api-mount-plans.js';

export type { SchrootFstab } from '../fixes/plans/api-mount-plans.js';

/** The setup.fstab of the target's schroot chroot, or null when the target is not one or it cannot be read. */
export async function targetSchrootFstab(ctx: CheckContext): Promise<SchrootFstab | null> {
  const name = ctx.target.schroot?.chroot;
  if (ctx.target.kind !== 'schroot' || !name) return null;
  const { chroots } = await ctx.host.schrootConfig();
  const chroot = chroots.find((c) => c.name === name || c.aliases.includes(name));
  if (!chroot) return null;
  const file = path.posix.resolve(ctx.host.schrootPaths.configDir, effectiveSetupFiles(chroot).fstab);
  const text = await ctx.host.readFile(file);
  return text === null ? null : { file, text };
}
