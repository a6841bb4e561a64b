import { splitLines } from './text-lines.js';

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

// NIS compat lines (`+`, `-name`) and comments are not accounts.
function records(text: string, fields: number): string[][] {
  return splitLines(text)
    .map((l) => l.text.replace(/\r$/, ''))
    .filter((t) => t !== '' && !t.startsWith('#') && !t.startsWith('+') && !t.startsWith('-'))
    .map((t) => t.split(':'))
    .filter((f) => f.length === fields && f[0] !== '');
}

/** Parse passwd text, skipping malformed lines. Never throws. */
export function parsePasswd(text: string): PasswdEntry[] {
  return records(text, 7)
    .filter((f) => ID.test(f[2] ?? '') && ID.test(f[3] ?? ''))
    .map(([name = '', , uid, gid, , home = '', shell = '']) => ({ name, uid: Number(uid), gid: Number(gid), home, shell }));
}

/** Parse group text, skipping malformed lines. Never throws. */
export function parseGroup(text: string): GroupEntry[] {
  return records(text, 4)
    .filter((f) => ID.test(f[2] ?? ''))
    .map(([name = '', , gid, members = '']) => ({
      name,
      gid: Number(gid),
      members: members
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    }));
}
