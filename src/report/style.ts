import type { Status } from '../core/types.js';

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1 } as const;

/** ANSI colouring that turns itself off for --no-color, NO_COLOR and pipes. */
export function painter(enabled: boolean) {
  const paint = (code: number) => (s: string) => (enabled && s !== '' ? `\u001b[${code}m${s}\u001b[0m` : s);
  return {
    red: paint(CODES.red),
    green: paint(CODES.green),
    yellow: paint(CODES.yellow),
    blue: paint(CODES.blue),
    gray: paint(CODES.gray),
    bold: paint(CODES.bold),
  };
}

/** A fixed-width label per status, readable without colour. */
export const STATUS_LABEL: Record<Status, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP', error: 'ERROR' };

/** The symbol a colour terminal shows for a status. */
export const STATUS_SYMBOL: Record<Status, string> = { pass: '✔', warn: '⚠', fail: '✖', skip: '↓', error: '!' };

/** Colours a status label. */
export function paintStatus(status: Status, enabled: boolean): string {
  const p = painter(enabled);
  const label = STATUS_LABEL[status].padEnd(5);
  return { pass: p.green, warn: p.yellow, fail: p.red, skip: p.gray, error: p.red }[status](label);
}

/**
 * How a status is marked: a coloured symbol on a colour terminal, a plain ASCII word
 * (`FAIL`) for NO_COLOR, --no-color and pipes. `plain` is the uncoloured text, for measuring.
 */
export function statusMark(status: Status, color: boolean): { plain: string; painted: string } {
  const p = painter(color);
  const plain = color ? STATUS_SYMBOL[status] : STATUS_LABEL[status];
  const paint = { pass: p.green, warn: p.yellow, fail: p.red, skip: p.gray, error: p.red }[status];
  return { plain, painted: paint(plain) };
}
