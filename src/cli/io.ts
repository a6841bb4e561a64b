/** The process's streams and environment, injected so commands can be tested without globals. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  isTty: boolean;
  stdinIsTty: boolean;
  /** Columns for tables: the terminal's, clamped to 80–140, or 100 off a terminal. */
  width: number;
  /** The terminal's own width in columns, when stdout is a terminal. */
  columns?: number;
  /** Whether to colour, given the --color flag (NO_COLOR and pipes turn it off). */
  color(flag: boolean): boolean;
}

/** The real process's io. */
export function processIo(): CliIo {
  const isTty = Boolean(process.stdout.isTTY);
  return {
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    isTty,
    stdinIsTty: Boolean(process.stdin.isTTY),
    width: Math.max(80, Math.min(process.stdout.columns || 100, 140)),
    columns: process.stdout.columns || undefined,
    color: (flag) => flag && isTty && process.env.NO_COLOR === undefined,
  };
}
