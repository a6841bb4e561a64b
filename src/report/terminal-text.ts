import stringWidth from 'string-width';

/**
 * Characters that can drive or deceive a terminal: C0 controls, DEL and C1 controls (ESC starts
 * CSI and OSC sequences: colours, cursor moves, OSC 52 clipboard writes, OSC 8 links), the
 * Unicode bidi controls that reorder what is shown (Trojan Source), and the line and paragraph
 * separators some terminals break lines at.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Guest text made safe to print: every {@link UNSAFE} character written as a visible escape
 * (`\n`, `\t`, `\x1b`, `\u202e`), so a hostile file name or environment value shows as what it is.
 */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The SGR colour codes and OSC 8 links this tool itself writes; they take no columns. */
const OWN_ESCAPES = /\u001b\[[0-9;]*m|\u001b\]8;[^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

/** Removes the tool's own colour codes and links. */
export function stripOwnEscapes(text: string): string {
  return text.replace(OWN_ESCAPES, '');
}

/** Widths of the non-ASCII graphemes seen so far: wrapping measures the same few over and over. */
const graphemeWidths = new Map<string, number>();

/** Columns a string takes on a terminal: colour codes count 0, CJK and emoji 2, combining marks 0. */
export function displayWidth(text: string): number {
  // Most report text is ASCII: skip string-width's grapheme segmentation for it.
  if (/^[\u0020-\u007e]*$/.test(text)) return text.length;
  const plain = stripOwnEscapes(text);
  if (/^[\u0020-\u007e]*$/.test(plain)) return plain.length;
  return stringWidth(plain);
}

/** The width of one grapheme, cached. */
function graphemeWidth(g: string): number {
  if (g.length === 1 && g >= ' ' && g <= '~') return 1;
  let w = graphemeWidths.get(g);
  if (w === undefined) {
    w = stringWidth(g);
    if (graphemeWidths.size < 4096) graphemeWidths.set(g, w);
  }
  return w;
}

let segmenter: Intl.Segmenter | undefined;

/** User-perceived characters (an emoji with modifiers, a letter with its accents), never split. */
export function graphemes(text: string): string[] {
  if (/^[\u0020-\u007e]*$/.test(text)) return [...text];
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return [...segmenter.segment(text)].map((s) => s.segment);
}

/** Splits plain text into pieces no wider than `width` columns, at grapheme boundaries. */
export function breakToWidth(text: string, width: number): string[] {
  const pieces: string[] = [];
  let current = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    if (used + w > width && current !== '') {
      pieces.push(current);
      current = '';
      used = 0;
    }
    current += g;
    used += w;
  }
  if (current !== '' || pieces.length === 0) pieces.push(current);
  return pieces;
}

/**
 * Word-wraps plain (uncoloured, escaped) text: the first line starts with `first`, the others
 * with `rest`, and no line is wider than `width`. A word too long for a line is broken.
 */
export function wrapText(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let prefix = first;
  let line = '';
  let used = 0;
  let room = Math.max(1, width - displayWidth(prefix));
  const flush = () => {
    lines.push(prefix + line);
    prefix = rest;
    line = '';
    used = 0;
    room = Math.max(1, width - displayWidth(prefix));
  };
  for (const word of text.split(/ +/).filter((w) => w !== '')) {
    const w = displayWidth(word);
    if (line !== '' && used + 1 + w <= room) {
      line += ` ${word}`;
      used += 1 + w;
      continue;
    }
    if (line !== '') flush();
    if (w <= room) {
      line = word;
      used = w;
      continue;
    }
    const pieces = breakToWidth(word, room);
    for (const piece of pieces.slice(0, -1)) {
      line = piece;
      flush();
    }
    line = pieces[pieces.length - 1] ?? '';
    used = displayWidth(line);
  }
  if (line !== '' || lines.length === 0) flush();
  return lines;
}

/** Cuts a line to `width` columns, ending with `…` when something was cut. */
export function truncateToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  return `${breakToWidth(text, Math.max(1, width - 1))[0] ?? ''}…`;
}
