import { escapeOctal, unescapeOctal } from './octal-escape.js';
import { ParseError } from './parse-error.js';
import { splitLines } from './text-lines.js';

/** One line of an fstab (also schroot's `setup.fstab`), with `\040`-style escapes decoded. */
export interface FstabEntry {
  /** What to mount: a device, a directory for bind mounts, or a pseudo name such as `proc`. */
  spec: string;
  /** Where to mount it; for schroot, relative to the chroot. */
  file: string;
  vfstype: string;
  /** Never empty: a missing (or all-commas) options field reads as `['defaults']`, as in getmntent(3). */
  options: string[];
  freq: number;
  passno: number;
  /** 1-based line in the file. */
  line: number;
}

/** Parsed entries plus the lines that could not be read. */
export interface FstabParse {
  entries: FstabEntry[];
  malformed: { line: number; text: string }[];
}

/** Parse fstab text. Blank lines and `#` comments are skipped; malformed lines are collected. Never throws. */
export function parseFstab(text: string): FstabParse {
  const out: FstabParse = { entries: [], malformed: [] };
  for (const { line, text: raw } of splitLines(text)) {
    // getmntent(3) splits on spaces and tabs only.
    const trimmed = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const entry = parseLine(trimmed, line);
    if (entry === null) out.malformed.push({ line, text: raw });
    else out.entries.push(entry);
  }
  return out;
}

function parseLine(trimmed: string, line: number): FstabEntry | null {
  const f = trimmed.split(/[ \t]+/);
  // More than six fields usually means a path with an unescaped space.
  if (f.length < 3 || f.length > 6) return null;
  const [spec, file, vfstype, options, freq = '0', passno = '0'] = f;
  if (!/^\d+$/.test(freq) || !/^\d+$/.test(passno)) return null;
  // An options field with nothing but commas means the same as a missing one.
  const opts = (options ?? '')
    .split(',')
    .filter((o) => o !== '')
    .map(unescapeOctal);
  return {
    spec: unescapeOctal(spec ?? ''),
    file: unescapeOctal(file ?? ''),
    vfstype: unescapeOctal(vfstype ?? ''),
    options: opts.length === 0 ? ['defaults'] : opts,
    freq: Number(freq),
    passno: Number(passno),
    line,
  };
}

// Whitespace separates fields, and a leading `#` would turn the line into a comment.
function field(s: string, name: string): string {
  if (s === '') throw new ParseError('empty-field', `fstab ${name} field cannot be empty`);
  const escaped = escapeOctal(s, ' \t\n');
  return escaped.startsWith('#') ? '\\043' + escaped.slice(1) : escaped;
}

/**
 * Write one fstab line (without a newline) that parses back to the same entry, line number aside.
 * @throws ParseError `empty-field` when spec, file or vfstype is empty, `bad-number` for a negative or fractional freq/passno.
 */
export function printFstabLine(e: FstabEntry): string {
  for (const n of [e.freq, e.passno]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new ParseError('bad-number', `fstab freq and passno must be whole numbers, got ${n}`);
  }
  const options = e.options.filter((o) => o !== '');
  const opts = options.length === 0 ? 'defaults' : options.map((o) => escapeOctal(o, ' \t\n,')).join(',');
  return [field(e.spec, 'spec'), field(e.file, 'file'), field(e.vfstype, 'vfstype'), opts, e.freq, e.passno].join('\t');
}
