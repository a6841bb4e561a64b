import { accessSync, constants } from 'node:fs';

/** The PATH of every host program we start: root's system directories (then /usr/local's), never a caller's or a guest's. */
export const HOST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin';

/** The whole environment of a host program: a fixed PATH, and `C` messages so their texts can be matched. */
export const HOST_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: HOST_PATH, LC_ALL: 'C' });

const found = new Map<string, string | null>();
let searchDirs: readonly string[] = HOST_PATH.split(':');

/** For unit tests that script a host tool (a fake docker): search `dirs` instead of HOST_PATH; null restores HOST_PATH. */
export function searchHostProgramsIn(dirs: readonly string[] | null): void {
  searchDirs = dirs ?? HOST_PATH.split(':');
  found.clear();
}

/**
 * The absolute path of host program `name`, looked up in {@link HOST_PATH} only (cached), or null.
 * An absolute `name` is returned as it is; a name with a slash that is not absolute is refused.
 */
export function hostProgram(name: string): string | null {
  if (name.startsWith('/')) return name;
  if (name === '' || name.includes('/')) return null;
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  let hit: string | null = null;
  for (const dir of searchDirs) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      hit = `${dir}/${name}`;
      break;
    } catch {
      // Not in this directory.
    }
  }
  found.set(name, hit);
  return hit;
}

/** Like {@link hostProgram}, for the tools whose path is built into an argv: falls back to `/usr/bin/NAME`. */
export function hostTool(name: string): string {
  return hostProgram(name) ?? `/usr/bin/${name}`;
}
