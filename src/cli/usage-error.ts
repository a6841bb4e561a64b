/** Bad usage: one line on stderr and exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint = 'see `ctr-doctor --help`',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
