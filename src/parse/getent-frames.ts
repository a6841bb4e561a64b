/**
 * The frames of the batched lookup script (checks/nss-lookup.ts): for each key, a header line
 * `MARK INDEX EXIT START_NS END_NS`, the lookup's output byte for byte, and `MARK end` on a line
 * of its own after it. Frames may come in any order (the lookups run at once); each is printed
 * with one write, so frames do not mix unless one is larger than a pipe's atomic write.
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

/**
 * Reads the script's output. `keys` is how many keys it was given; a missing frame is not an
 * error (the script was stopped by its timeout before that lookup printed), anything else that
 * is not a whole frame is: stray text, a frame cut short, an index twice or out of range, a clock
 * that gave no nanoseconds (a `date` without `%N`).
 */
export function parseGetentFrames(text: string, marker: string, keys: number): GetentFrames {
  const frames = new Map<number, GetentFrame>();
  const end = `${marker} end\n`;
  let at = 0;
  while (at < text.length) {
    const lineEnd = text.indexOf('\n', at);
    if (lineEnd === -1) return { ok: false, why: 'a frame was cut short' };
    const words = text.slice(at, lineEnd).split(' ');
    if (words.length !== 5 || words[0] !== marker) return { ok: false, why: `not a frame header at byte ${at}` };
    const [, indexText = '', exitText = '', startText = '', endText = ''] = words;
    const index = Number(indexText);
    if (!/^\d+$/.test(indexText) || index < 1 || index > keys || frames.has(index))
      return { ok: false, why: `frame index ${indexText.slice(0, 20)} is not one of ${keys} keys, once each` };
    if (!/^\d{1,3}$/.test(exitText)) return { ok: false, why: `frame ${index} has exit status ${exitText.slice(0, 20)}` };
    if (!NANOS.test(startText) || !NANOS.test(endText)) return { ok: false, why: `frame ${index} has no nanosecond clock readings` };
    const bodyStart = lineEnd + 1;
    const stop = text.indexOf(end, bodyStart);
    if (stop === -1) return { ok: false, why: `frame ${index} does not end` };
    const stdout = text.slice(bodyStart, stop);
    // A marker inside a body: two frames mixed.
    if (stdout.includes(marker)) return { ok: false, why: `frame ${index} holds another frame's marker` };
    const elapsedNs = BigInt(endText) - BigInt(startText);
    frames.set(index, {
      index,
      exitCode: Number(exitText),
      stdout,
      elapsedMs: elapsedNs < 0n ? 0 : Number(elapsedNs / 1_000_000n),
    });
    at = stop + end.length;
  }
  return { ok: true, frames };
}
