import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';

/** A write was refused because it could have left the guest root. Nothing was written. */
export class GuestWriteRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestWriteRefused';
  }
}

/**
 * An open directory inside the guest. Every name is reached through `/proc/self/fd/N/NAME`,
 * which acts like openat(2): the directory was opened component by component with O_NOFOLLOW,
 * so nothing swapped in after resolution can redirect a write outside the root.
 */
export interface GuestDir {
  /** The directory as the guest sees it. */
  guestPath: string;
  handle: FileHandle;
  /** The path that reaches `name` inside this very directory. */
  at(name: string): string;
  /** Guest paths of the directories created on the way, outermost first. */
  created: string[];
  close(): Promise<void>;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function componentsOf(guestPath: string): string[] {
  const parts = guestPath.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new GuestWriteRefused(`${guestPath}: ".." is not allowed in a resolved guest path`);
  return parts;
}

async function openChild(parent: FileHandle, name: string, guestPath: string): Promise<FileHandle | null> {
  const at = `/proc/self/fd/${parent.fd}/${name}`;
  try {
    return await open(at, DIR_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      const isLink = await lstat(at).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      throw new GuestWriteRefused(
        isLink
          ? `refusing to write through ${guestPath}: it is a symlink (it changed after it was resolved inside the guest, or it leads outside the guest root)`
          : `${guestPath} is not a directory`,
      );
    }
    throw error;
  }
}

/**
 * Opens the guest directory `guestDir` (already resolved inside the root, so free of symlinks)
 * one component at a time without following any symlink. Missing components are created
 * (mode 0755, owned by whoever runs the tool) when `create` is set, each announced to
 * `beforeCreate` first (which returns what to call once it is made).
 */
export async function openGuestDir(
  root: string,
  guestDir: string,
  opts: { create: boolean; beforeCreate?: (guestPath: string) => Promise<() => Promise<void>> },
): Promise<GuestDir> {
  const parts = componentsOf(guestDir);
  // The root itself is chosen by the tool (a directory or /proc/PID/root), so it may be followed.
  let handle = await open(root, constants.O_RDONLY | constants.O_DIRECTORY);
  const created: string[] = [];
  let sofar = '';
  try {
    for (const part of parts) {
      sofar += '/' + part;
      let child = await openChild(handle, part, sofar);
      if (child === null) {
        if (!opts.create) throw Object.assign(new Error(`${sofar} does not exist in the guest`), { code: 'ENOENT' });
        // Journalled before it exists: a crash right after the mkdir still leaves a record for undo.
        const made = await opts.beforeCreate?.(sofar);
        await mkdir(`/proc/self/fd/${handle.fd}/${part}`, 0o755);
        await made?.();
        created.push(sofar);
        child = await openChild(handle, part, sofar);
        if (child === null) throw new GuestWriteRefused(`${sofar} vanished right after it was created`);
      }
      await handle.close();
      handle = child;
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  const fd = handle.fd;
  const final = handle;
  return {
    guestPath: '/' + parts.join('/'),
    handle: final,
    at: (name) => {
      if (name === '' || name === '.' || name === '..' || name.includes('/'))
        throw new GuestWriteRefused(`bad file name ${JSON.stringify(name)}`);
      return `/proc/self/fd/${fd}/${name}`;
    },
    created,
    close: () => final.close(),
  };
}
