/** One entry of a file's POSIX ACL beyond the owner/group/other bits: `user:1000:rw-` or `group:44:rw-`. */
export interface HostAclEntry {
  who: 'user' | 'group';
  id: number;
  /** `rw-`, as getfacl prints it (before the mask). */
  perms: string;
}

/** One file's ACL from `getfacl -n -p`: its named entries and its mask. */
export interface ParsedAcl {
  entries: HostAclEntry[];
  mask: string | null;
  /** The owning group's entry (`group::rw-`): with a mask, the mode's group bits show the mask instead. */
  owningGroup: string | null;
}

/** Undoes getfacl's octal escapes in a `# file:` name (`\040` for a space). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Parses `getfacl --numeric --absolute-names PATH…` output: one block per file, each headed by
 * `# file: PATH`. Entries without a qualifier (`user::rw-`) are the mode bits and are left out.
 */
export function parseGetfacl(text: string): Map<string, ParsedAcl> {
  const out = new Map<string, ParsedAcl>();
  let current: ParsedAcl | null = null;
  for (const line of text.split('\n')) {
    const file = /^# file: (.*)$/.exec(line);
    if (file) {
      current = { entries: [], mask: null, owningGroup: null };
      out.set(unescape(file[1]!), current);
      continue;
    }
    if (!current) continue;
    const m = /^(user|group|mask|other):(\d*):([rwx-]{3})/.exec(line);
    if (!m) continue;
    const [, who, id, perms] = m;
    if (who === 'mask') current.mask = perms!;
    else if (who === 'group' && id === '') current.owningGroup = perms!;
    else if ((who === 'user' || who === 'group') && id !== '') current.entries.push({ who, id: Number(id), perms: perms! });
  }
  return out;
}
