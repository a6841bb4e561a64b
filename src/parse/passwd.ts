import { eachLine } from './text-lines.js';

/** One account from `/etc/passwd`. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One group from `/etc/group`. */
export interface GroupEntry {
  name: string;
  gid: number;
  /** Supplementary members, as listed in the fourth field. */
  members: string[];
}

const ID = /^\d+$/;

// NIS compat lines (`+`, `-name`) and comments are not accounts. One pass, no array of lines or
// of intermediate copies: every guest of `check --all` has these files read (and the host's).
function records(text: string, fields: number): string[][] {
  const out: string[][] = [];
  for (const { text: raw } of eachLine(text)) {
    const t = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (t === '' || t.startsWith('#') || t.startsWith('+') || t.startsWith('-')) continue;
    const f = t.split(':');
    if (f.length === fields && f[0] !== '') out.push(f);
  }
  return out;
}

/** Parse passwd text, skipping malformed lines. Never throws. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of records(text, 7)) {
    const uid = f[2]!;
    const gid = f[3]!;
    if (ID.test(uid) && ID.test(gid)) out.push({ name: f[0]!, uid: Number(uid), gid: Number(gid), home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** Parse group text, skipping malformed lines. Never throws. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of records(text, 4)) {
    const gid = f[2]!;
    if (!ID.test(gid)) continue;
    const members: string[] = [];
    if (f[3] !== '') {
      for (const m of f[3]!.split(',')) {
        const name = m.trim();
        if (name !== '') members.push(name);
      }
    }
    out.push({ name: f[0]!, gid: Number(gid), members });
  }
  return out;
}
