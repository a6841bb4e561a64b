import { breakToWidth, displayWidth } from './terminal-text.js';

/**
 * Lines of a config file rather than a shell command: a `[Section]`, a `Key=value`, an fstab line,
 * an nsswitch line, a bare path. Backslash continuations would break these, so they are never
 * split like a command.
 */
export function isConfigLine(line: string): boolean {
  return (
    /^\[[^\]]+\]$/.test(line) ||
    /^[A-Za-z][\w.-]*=\S*$/.test(line) ||
    /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+\d+$/.test(line) ||
    /^[a-z]+:\s/.test(line) ||
    /^\/\S*$/.test(line)
  );
}

/**
 * One shell command line split so that each piece fits `width` columns (after `indent`) and the
 * pieces, pasted, are the same command: each break is a backslash-newline, which the shell
 * removes (outside quotes and inside double quotes). A break inside single quotes, where a
 * backslash is literal, closes the quote before it and reopens it after.
 */
export function wrapShellLine(line: string, width: number, indent: string, restIndent = indent): string[] {
  const out: string[] = [];
  let rest = line;
  let lead = indent;
  while (displayWidth(rest) > Math.max(4, width - displayWidth(lead))) {
    const cut = cutPoint(rest, Math.max(4, width - displayWidth(lead)) - 1);
    out.push(`${lead}${rest.slice(0, cut.at)}${cut.inQuote ? "'" : ''}\\`);
    rest = `${cut.inQuote ? "'" : ''}${rest.slice(cut.at)}`;
    // Indentation after a break inside a word would end up inside it: such a piece starts at column 0.
    lead = cut.atSpace ? restIndent : '';
  }
  out.push(lead + rest);
  return out;
}

/**
 * Where to break a line so its head fits `room` columns: after the last space that is not inside
 * single quotes nor escaped, else as late as fits (one column earlier inside single quotes, for
 * the closing quote), never right after an escaping backslash.
 */
function cutPoint(text: string, room: number): { at: number; inQuote: boolean; atSpace: boolean } {
  let quoted = false;
  let col = 0;
  let space = -1;
  let hard = { at: 1, inQuote: false, atSpace: false };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const w = displayWidth(ch);
    if (col + w + (quoted ? 1 : 0) > room) break;
    col += w;
    const escaping = ch === '\\' && !quoted;
    if (ch === "'" && !(i > 0 && text[i - 1] === '\\' && !quoted)) quoted = !quoted;
    if (!escaping) hard = { at: i + 1, inQuote: quoted, atSpace: false };
    if (ch === ' ' && !quoted && !(i > 0 && text[i - 1] === '\\')) space = i + 1;
    if (escaping) {
      i++;
      col += i < text.length ? displayWidth(text[i]!) : 0;
      if (col <= room) hard = { at: i + 1, inQuote: quoted, atSpace: false };
    }
  }
  // Words stay whole where a space allows; a word wider than a line is broken where it must be.
  if (space > 0 && !/^ *$/.test(text.slice(0, space))) return { at: space, inQuote: false, atSpace: true };
  return hard;
}

/**
 * A snippet to paste, fitted to `width`: command lines split with backslash-newlines; a config
 * line too long for the width is broken and flagged, since a config file has no continuations.
 */
export function wrapSnippet(
  snippet: string,
  width: number,
  indent: string,
  restIndent = `${indent}  `,
): { lines: string[]; brokenConfig: boolean } {
  const lines: string[] = [];
  let brokenConfig = false;
  // A file's content ends with a newline: no indented blank line for it.
  for (const line of snippet.replace(/\n+$/, '').split('\n')) {
    const room = Math.max(1, width - displayWidth(indent));
    if (line === '') lines.push('');
    else if (displayWidth(line) <= room) lines.push(indent + line);
    else if (isConfigLine(line)) {
      brokenConfig = true;
      lines.push(...breakToWidth(line, room).map((piece) => indent + piece));
    } else lines.push(...wrapShellLine(line, width, indent, restIndent));
  }
  return { lines, brokenConfig };
}
