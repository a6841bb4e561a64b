import { escapeOctal, unescapeOctal } from './octal-escape.js';
import { splitLines } from './text-lines.js';

/** One line of `/proc/PID/mountinfo` (see proc(5)), with escapes decoded. */
export interface MountEntry {
  id: number;
  parentId: number;
  major: number;
  minor: number;
  /** The path inside the mounted filesystem that is mounted here (not `/` for bind mounts of a subdirectory). */
  root: string;
  mountPoint: string;
  /** Per-mount options, such as `rw`, `nosuid`. */
  mountOptions: string[];
  /** The raw tagged fields before the ` - ` separator, such as `shared:1`. */
  optionalFields: string[];
  /** Peer group when the mount is shared. */
  shared: number | null;
  /** Peer group this mount is a slave of. */
  master: number | null;
  propagateFrom: number | null;
  unbindable: boolean;
  fsType: string;
  /** The device or source; the kernel writes `none` when there is nothing better. */
  source: string;
  /** Per-superblock options. */
  superOptions: string[];
}

/** The result of a lenient parse: good entries, and the lines that did not fit the format. */
export interface MountinfoParse {
  entries: MountEntry[];
  malformed: { line: number; text: string }[];
}

// The kernel escapes these in paths (seq_path) and names (seq_escape).
const MANGLED = ' \t\n\\';

/** Decode the kernel's `\040`-style escapes; a backslash that is not followed by three octal digits stays as it is. */
export function unescapeMountField(s: string): string {
  return unescapeOctal(s);
}

/** Encode a field as the kernel would, so that it never contains a space, tab, newline or bare backslash. */
export function escapeMountField(s: string): string {
  return escapeOctal(s, MANGLED);
}

/** Parse mountinfo text; malformed lines are skipped. Never throws. */
export function parseMountinfo(text: string): MountEntry[] {
  return parseMountinfoDetailed(text).entries;
}

/** Parse mountinfo text and also report the lines that were skipped. Never throws. */
export function parseMountinfoDetailed(text: string): MountinfoParse {
  const out: MountinfoParse = { entries: [], malformed: [] };
  for (const { line, text: raw } of splitLines(text)) {
    if (raw === '') continue;
    const entry = parseLine(raw);
    if (entry === null) out.malformed.push({ line, text: raw });
    else out.entries.push(entry);
  }
  return out;
}

const DECIMAL = /^\d+$/;

function parseLine(raw: string): MountEntry | null {
  // The kernel separates fields with exactly one space, so an empty source shows up as an empty field.
  const f = raw.split(' ');
  const sep = f.indexOf('-', 6);
  if (sep < 0 || f.length !== sep + 4) return null;
  const [id, parentId, devno, root, mountPoint, options] = f;
  const dev = /^(\d+):(\d+)$/.exec(devno ?? '');
  if (!DECIMAL.test(id ?? '') || !DECIMAL.test(parentId ?? '') || dev === null) return null;
  if (!root || !mountPoint || options === undefined) return null;
  const optionalFields = f.slice(6, sep).map(unescapeMountField);
  const tagged = (tag: string): number | null => {
    const value = optionalFields.find((o) => o.startsWith(`${tag}:`))?.slice(tag.length + 1);
    return value !== undefined && DECIMAL.test(value) ? Number(value) : null;
  };
  return {
    id: Number(id),
    parentId: Number(parentId),
    major: Number(dev[1]),
    minor: Number(dev[2]),
    root: unescapeMountField(root),
    mountPoint: unescapeMountField(mountPoint),
    mountOptions: splitOptions(options),
    optionalFields,
    shared: tagged('shared'),
    master: tagged('master'),
    propagateFrom: tagged('propagate_from'),
    unbindable: optionalFields.includes('unbindable'),
    fsType: unescapeMountField(f[sep + 1] ?? ''),
    source: unescapeMountField(f[sep + 2] ?? ''),
    superOptions: splitOptions(f[sep + 3] ?? ''),
  };
}

function splitOptions(s: string): string[] {
  return s === '' ? [] : s.split(',').map(unescapeMountField);
}

// Commas inside one option must be escaped too, or they would split it on the way back.
function joinOptions(opts: string[]): string {
  return opts.map((o) => escapeOctal(o, MANGLED + ',')).join(',');
}

/** Write one mountinfo line (without a newline) that parses back to the same entry. */
export function printMountinfoLine(e: MountEntry): string {
  return [
    String(e.id),
    String(e.parentId),
    `${e.major}:${e.minor}`,
    escapeMountField(e.root),
    escapeMountField(e.mountPoint),
    joinOptions(e.mountOptions),
    ...e.optionalFields.map(escapeMountField),
    '-',
    escapeMountField(e.fsType),
    escapeMountField(e.source),
    joinOptions(e.superOptions),
  ].join(' ');
}

function normalize(p: string): string {
  // Most paths are already normal: returned as they are, no regex and no new string (isUnder runs per mount, per guest).
  if (!p.includes('//') && (p.length <= 1 || p.charCodeAt(p.length - 1) !== SLASH)) return p;
  const collapsed = p.replace(/\/+/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}

const SLASH = 0x2f;

/**
 * Whether `path` is `dir` or below it, comparing whole components: `/a/b` is under `/a`, `/ab` is not.
 * Repeated and trailing slashes are ignored; `..` is not resolved.
 */
export function isUnder(path: string, dir: string): boolean {
  const p = normalize(path);
  const d = normalize(dir);
  if (d === '/') return p.startsWith('/');
  return p === d || (p.length > d.length && p.charCodeAt(d.length) === SLASH && p.startsWith(d));
}

function depth(p: string): number {
  return normalize(p)
    .split('/')
    .filter((c) => c !== '').length;
}

/**
 * The mounts at or below `dir`, deepest first (then newest first), which is the order to unmount them in.
 */
export function mountsUnder(entries: readonly MountEntry[], dir: string): MountEntry[] {
  return entries.filter((e) => isUnder(e.mountPoint, dir)).sort((a, b) => depth(b.mountPoint) - depth(a.mountPoint) || b.id - a.id);
}
