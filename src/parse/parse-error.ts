/**
 * The only error a parser in `src/parse` may throw. `code` is a stable kebab-case id;
 * `line` is 1-based when the problem belongs to a line of the input.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';

  constructor(
    readonly code: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}
