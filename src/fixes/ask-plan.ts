import { createInterface } from 'node:readline';
import type { PlannedFix } from './fix-plan.js';

/** Reads answers line by line; lines typed ahead are kept for the next question; end of input answers "". */
function lineReader(input: NodeJS.ReadableStream): { next(): Promise<string>; close(): void } {
  const rl = createInterface({ input, terminal: false });
  const buffered: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let closed = false;
  rl.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else buffered.push(line);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiting.splice(0)) w('');
  });
  return {
    next: () => {
      const line = buffered.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (closed) return Promise.resolve('');
      return new Promise((resolve) => waiting.push(resolve));
    },
    close: () => {
      rl.close();
    },
  };
}

/**
 * Asks on a terminal which fixes to apply: all, one by one, or none. Questions go to `output`
 * (stderr), so stdout keeps only the report. End of input means "none".
 */
export async function askWhichFixes(
  fixes: PlannedFix[],
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<PlannedFix[]> {
  const reader = lineReader(input);
  const ask = async (question: string): Promise<string> => {
    output.write(question);
    return (await reader.next()).trim().toLowerCase();
  };
  try {
    const first = await ask(`Apply ${fixes.length} fix(es)? [a]ll, [o]ne by one, [n]one: `);
    if (first === 'a' || first === 'all' || first === 'y' || first === 'yes') return fixes;
    if (first !== 'o' && first !== 'one') return [];
    const chosen: PlannedFix[] = [];
    for (const fix of fixes) {
      const answer = await ask(`Apply ${fix.fixId} (${fix.title})? [y/N] `);
      if (answer === 'y' || answer === 'yes') chosen.push(fix);
    }
    return chosen;
  } finally {
    reader.close();
  }
}
