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
