import { isatty } from 'node:tty';

/** The process's streams and environment, injected so commands can be tested without globals. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  isTty: boolean;
  stdinIsTty: boolean;
  /** Columns every human line fits: COLUMNS, else the terminal's, else 80. */
  width: number;
  /** Whether to colour, given the --color flag (NO_COLOR and pipes turn it off). */
  color(flag: boolean): boolean;
}

/** The real process's io. */
export function processIo(): CliIo {
  // isTTY is typed boolean but is undefined on a pipe.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion
  const isTty = Boolean(process.stdout.isTTY);
  return {
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    isTty,
    // Asked of the descriptor: process.stdin would build its stream now (about 8 ms), and only `fix` reads it.
    stdinIsTty: isatty(0),
    width: terminalWidth(process.env.COLUMNS, isTty ? process.stdout.columns : undefined),
    color: (flag) => flag && isTty && process.env.NO_COLOR === undefined,
  };
}

/** The narrowest width the layout is asked to fit; below it lines may be wider than asked. */
export const MIN_WIDTH = 20;

/** COLUMNS when it is a sensible number, else the terminal's columns, else 80. */
export function terminalWidth(columnsEnv: string | undefined, ttyColumns: number | undefined): number {
  const fromEnv = columnsEnv !== undefined && /^\d+$/.test(columnsEnv.trim()) ? Number(columnsEnv) : 0;
  const columns = fromEnv > 0 ? fromEnv : ttyColumns && ttyColumns > 0 ? ttyColumns : 80;
  return Math.max(MIN_WIDTH, Math.min(columns, 1000));
}
