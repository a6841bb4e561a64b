/** Whether NODE_DEBUG asks for ctr-doctor's phase timings on stderr. */
const enabled = /\bctr-doctor\b/.test(process.env.NODE_DEBUG ?? '');

/** Writes "ctr-doctor +N ms label" (time since the process started) when NODE_DEBUG=ctr-doctor. */
export function timing(label: string): void {
  if (enabled) process.stderr.write(`ctr-doctor +${Math.round(performance.now())} ms ${label}\n`);
}
