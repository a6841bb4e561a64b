/** A target that cannot be found or entered: one line for the user, one hint, exit code 2. */
export class TargetError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'TargetError';
  }
}
