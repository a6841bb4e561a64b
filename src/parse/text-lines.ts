/** One line of a text file, 1-based, without its `\n` (a trailing `\r` is kept). */
export interface TextLine {
  line: number;
  text: string;
}

/** Split text into lines; a final newline does not make an extra empty line. */
export function splitLines(text: string): TextLine[] {
  const parts = text.split('\n');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ line: i + 1, text: t }));
}

/** Split on runs of spaces and tabs, dropping empty words. */
export function splitWords(text: string): string[] {
  return text.split(/[ \t]+/).filter((w) => w !== '');
}

/**
 * The same lines as {@link splitLines}, one at a time: a hostile 1 MiB file of tiny lines
 * then costs no array of a hundred thousand entries.
 */
export function* eachLine(text: string): Generator<TextLine> {
  let start = 0;
  for (let line = 1; start < text.length; line++) {
    const end = text.indexOf('\n', start);
    const stop = end === -1 ? text.length : end;
    yield { line, text: text.slice(start, stop) };
    start = stop + 1;
  }
}
