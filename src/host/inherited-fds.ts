import { readdirSync, readFileSync } from 'node:fs';

/** Linux's O_CLOEXEC as /proc/self/fdinfo shows it (octal `flags:`). */
const O_CLOEXEC = 0o2000000;

/** Scans /proc/self/fdinfo for descriptors above 2 without close-on-exec (exported for its test). */
export function scanInheritableFds(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // Closed meanwhile (the directory's own descriptor, for one).
    }
  }
  return out;
}

let found: readonly number[] | undefined;

/**
 * Our descriptors above 2 that a child would inherit: those without close-on-exec, which only our
 * own parent can have left open. A guest command must not get them.
 * Scanned once: Node and libuv open every descriptor close-on-exec (files, sockets, pipes, epoll,
 * eventfd), so the set can only shrink after start-up, and closing a number that has since been
 * reused for a close-on-exec descriptor is harmless in the child. (The scan cost one read per open
 * descriptor on every guest command, and `check --all` holds a few hundred.)
 */
export function inheritableFds(): readonly number[] {
  found ??= scanInheritableFds();
  return found;
}
