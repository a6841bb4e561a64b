import { createInterface } from 'node:readline/promises';
import type { PlannedFix } from './fix-plan.js';

/**
 * Asks on a terminal which fixes to apply: all, one by one, or none. Questions go to `output`
 * (stderr), so stdout keeps only the report. End of input means "none".
 */
export async function askWhichFixes(fixes: PlannedFix[], input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<PlannedFix[]> {
  const rl = createInterface({ input, output, terminal: false });
  let closed = false;
  rl.on('close', () => { closed = true; });
  const ask = async (question: string): Promise<string> => {
    if (closed) return '';
    const answer = rl.question(question);
    const ended = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
    return (await Promise.race([answer, ended])).trim().toLowerCase();
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
    rl.close();
  }
}
