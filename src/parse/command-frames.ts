/**
 * The frames of the guest command batch (checks/command-batch.ts), read as they stream in. Every
 * line names the batch's marker and its command's index, so lines of commands that ran at once may
 * come interleaved; the lines of one frame come in this order:
 *   `MARK INDEX R TEXT`                  a line of the command's stderr (it ended with a newline);
 *   `MARK INDEX r TEXT`                  its last piece, when that had no newline;
 *   `MARK INDEX O TEXT` / `o TEXT`       the same for its stdout;
 *   `MARK INDEX X EXIT START_NS END_NS`  the end: its exit status and the guest's clock around it.
 * The output is the guest's and hostile: anything else ends the reading (each command is then asked
 * alone), and a frame may hold at most `maxFrameBytes` of output. The reasons never quote guest text.
 */

/** One command's answer, as its frame says. */
export interface CommandFrame {
  /** 1-based position of the command in the batch. */
  index: number;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Wall time of the command inside the guest, from its two clock readings. */
  elapsedMs: number;
}

const NANOS = /^\d{1,20}$/;
const NEWLINE = 0x0a;

/** A frame being read. */
interface OpenFrame {
  stdout: string;
  stderr: string;
  /** The stream whose last piece (no newline) came: nothing more of it may follow. */
  closed: { O: boolean; R: boolean };
  /** Output lines started: stderr comes first, so an R after an O is out of order. */
  sawStdout: boolean;
  bytes: number;
}

/**
 * Reads the batch's stdout chunk by chunk and hands each frame to `onFrame` once its end line came.
 * After the first line that is not a well-formed frame line, {@link broken} says why and nothing
 * more is read. A frame that never ended is simply never handed over (its command was cut short).
 */
export class CommandFrameReader {
  /** Why the output stopped being our frames; null while it is. */
  broken: string | null = null;
  private readonly open = new Map<number, OpenFrame>();
  private readonly ended = new Set<number>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly prefix: string;

  constructor(
    marker: string,
    private readonly commands: number,
    private readonly onFrame: (frame: CommandFrame) => void,
    private readonly maxFrameBytes = 256 * 1024,
  ) {
    this.prefix = `${marker} `;
  }

  /** Takes the next piece of output (lines may be cut anywhere, even inside a UTF-8 character). */
  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1 && this.broken === null; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      // A newline never occurs inside a UTF-8 sequence: each whole line decodes on its own.
      this.line(line.toString('utf8'));
    }
    if (this.broken !== null || start >= chunk.length) return;
    this.pendingBytes += chunk.length - start;
    if (this.pendingBytes > this.maxFrameBytes) this.fail('a line is longer than a frame may be');
    else this.pending.push(chunk.subarray(start));
  }

  /** The output ended: a line cut short is not ours. */
  end(): void {
    if (this.broken === null && this.pendingBytes > 0) this.fail('a line was cut short');
  }

  /** Stops the reading; false, for `return this.fail(…)`. */
  private fail(why: string): false {
    this.broken ??= why;
    this.pending = [];
    this.open.clear();
    return false;
  }

  /** Reads one whole line; false when it broke the reading. */
  private line(line: string): boolean {
    if (!line.startsWith(this.prefix)) return this.fail('a line is not a frame line');
    const rest = line.slice(this.prefix.length);
    const space = rest.indexOf(' ');
    const indexText = space === -1 ? rest : rest.slice(0, space);
    const index = Number(indexText);
    if (!/^\d{1,6}$/.test(indexText) || index < 1 || index > this.commands)
      return this.fail(`a frame index is not one of ${this.commands} commands`);
    if (this.ended.has(index)) return this.fail(`frame ${index} goes on after its end`);
    const kind = rest.slice(space + 1, space + 2);
    const after = rest.slice(space + 2, space + 3);
    const payload = rest.slice(space + 3);
    let frame = this.open.get(index);
    if (!frame) {
      frame = { stdout: '', stderr: '', closed: { O: false, R: false }, sawStdout: false, bytes: 0 };
      this.open.set(index, frame);
    }
    if (kind === 'X' && after === ' ') return this.finish(index, frame, payload);
    const stream = kind === 'O' || kind === 'o' ? 'O' : kind === 'R' || kind === 'r' ? 'R' : null;
    if (stream === null || after !== ' ') return this.fail(`line of frame ${index} is not a frame line`);
    if (frame.closed[stream]) return this.fail(`frame ${index} goes on after the last piece of a stream`);
    if (stream === 'R' && frame.sawStdout) return this.fail(`frame ${index} has stderr after stdout`);
    frame.bytes += payload.length + 1;
    if (frame.bytes > this.maxFrameBytes) return this.fail(`frame ${index} holds more than ${this.maxFrameBytes} bytes`);
    const text = kind === stream ? `${payload}\n` : payload;
    if (stream === 'O') {
      frame.stdout += text;
      frame.sawStdout = true;
    } else frame.stderr += text;
    if (kind !== stream) frame.closed[stream] = true;
    return true;
  }

  /** Ends frame `index` with its `X` line's payload and hands it over. */
  private finish(index: number, frame: OpenFrame, payload: string): boolean {
    const words = payload.split(' ');
    const [exitText = '', startText = '', endText = ''] = words;
    if (words.length !== 3) return this.fail(`frame ${index} has a malformed end`);
    if (!/^\d{1,3}$/.test(exitText) || Number(exitText) > 255) return this.fail(`frame ${index} has an exit status that is not 0-255`);
    if (!NANOS.test(startText) || !NANOS.test(endText)) return this.fail(`frame ${index} has no nanosecond clock readings`);
    const elapsedNs = BigInt(endText) - BigInt(startText);
    this.open.delete(index);
    this.ended.add(index);
    this.onFrame({
      index,
      exitCode: Number(exitText),
      stdout: frame.stdout,
      stderr: frame.stderr,
      elapsedMs: elapsedNs < 0n ? 0 : Number(elapsedNs / 1_000_000n),
    });
    return true;
  }
}
