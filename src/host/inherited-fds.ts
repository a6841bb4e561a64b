import { readdirSync, readFileSync } from 'node:fs';

/** Linux's O_CLOEXEC as /proc/self/fdinfo shows it (octal `flags:`). */
const O_CLOEXEC = 0o2000000;

/**
 * Our descriptors above 2 that a child would inherit: those without close-on-exec, which only our
 * own parent can have left open (Node opens everything close-on-exec). A guest command must not get them.
 */
export function inheritableFds(): number[] {
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
