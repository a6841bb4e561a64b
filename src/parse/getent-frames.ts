/**
 * The frames of the batched lookup script (checks/nss-lookup.ts). Every line names its marker and
 * its key's index, so lines of lookups that ran at once may come interleaved:
 *   `MARK INDEX H EXIT START_NS END_NS`  the header, first;
 *   `MARK INDEX L TEXT`                   a line of the lookup's output (it ended with a newline);
 *   `MARK INDEX P TEXT`                   its last piece, when that had no newline;
 *   `MARK INDEX E`                        the end of the frame.
 */

/** One key's answer, as its frame says. */
export interface GetentFrame {
  /** 1-based position of the key among the script's arguments. */
  index: number;
  exitCode: number;
  stdout: string;
  /** Wall time of the lookup inside the guest, from its two clock readings. */
  elapsedMs: number;
}

/** The frames found, by index; or why the output is not what the script prints (then each key is asked alone). */
export type GetentFrames = { ok: true; frames: Map<number, GetentFrame> } | { ok: false; why: string };

const NANOS = /^\d{1,20}$/;

/** A frame being read: its header's facts, its output so far, whether its last piece came. */
interface OpenFrame {
  exitCode: number;
  elapsedMs: number;
  stdout: string;
  partial: boolean;
  ended: boolean;
}

/**
 * Reads the script's output. `keys` is how many keys it was given. A frame that is missing or not
 * ended is left out, not an error (the timeout stopped that lookup before it printed all of it);
 * anything else is: stray text, a line cut short, an index out of range, a second header, output
 * before a header or after the end, a clock that gave no nanoseconds (a `date` without `%N`).
 */
export function parseGetentFrames(text: string, marker: string, keys: number): GetentFrames {
  const open = new Map<number, OpenFrame>();
  if (text === '') return { ok: true, frames: new Map() };
  if (!text.endsWith('\n')) return { ok: false, why: 'a line was cut short' };
  const prefix = `${marker} `;
  const lines = text.slice(0, -1).split('\n');
  for (const [n, line] of lines.entries()) {
    if (!line.startsWith(prefix)) return { ok: false, why: `line ${n + 1} is not a frame line` };
    const rest = line.slice(prefix.length);
    const space = rest.indexOf(' ');
    const indexText = space === -1 ? rest : rest.slice(0, space);
    const index = Number(indexText);
    if (!/^\d+$/.test(indexText) || index < 1 || index > keys)
      return { ok: false, why: `frame index ${indexText.slice(0, 20)} is not one of ${keys} keys` };
    const kind = rest.slice(space + 1, space + 2);
    const payload = rest.slice(space + 3);
    const frame = open.get(index);
    if (kind === 'H') {
      if (frame) return { ok: false, why: `frame ${index} has two headers` };
      const words = payload.split(' ');
      const [exitText = '', startText = '', endText = ''] = words;
      if (words.length !== 3 || rest.slice(space + 2, space + 3) !== ' ')
        return { ok: false, why: `frame ${index} has a malformed header` };
      if (!/^\d{1,3}$/.test(exitText)) return { ok: false, why: `frame ${index} has exit status ${exitText.slice(0, 20)}` };
      if (!NANOS.test(startText) || !NANOS.test(endText)) return { ok: false, why: `frame ${index} has no nanosecond clock readings` };
      const elapsedNs = BigInt(endText) - BigInt(startText);
      const elapsedMs = elapsedNs < 0n ? 0 : Number(elapsedNs / 1_000_000n);
      open.set(index, { exitCode: Number(exitText), elapsedMs, stdout: '', partial: false, ended: false });
      continue;
    }
    if (!frame) return { ok: false, why: `frame ${index} has output before its header` };
    if (frame.ended) return { ok: false, why: `frame ${index} goes on after its end` };
    if (kind === 'E' && space + 2 === rest.length) frame.ended = true;
    else if ((kind === 'L' || kind === 'P') && rest.slice(space + 2, space + 3) === ' ') {
      if (frame.partial) return { ok: false, why: `frame ${index} goes on after its last piece` };
      frame.stdout += kind === 'L' ? `${payload}\n` : payload;
      frame.partial = kind === 'P';
    } else return { ok: false, why: `line ${n + 1} of frame ${index} is not a frame line` };
  }
  const frames = new Map<number, GetentFrame>();
  for (const [index, f] of open) if (f.ended) frames.set(index, { index, exitCode: f.exitCode, stdout: f.stdout, elapsedMs: f.elapsedMs });
  return { ok: true, frames };
}
