import type { ManualStep } from '../../core/types.js';
import { machineName } from './shell-quote.js';

/** A step a person does: what and where, with the exact text to paste. */
export function manual(description: string, snippet: string, where: 'host' | 'guest' = 'host'): ManualStep {
  return { kind: 'manual', where, description, snippet };
}

/** The same setting in the machine's `.nspawn` file, for users who start it with machinectl. */
export function nspawnFileStep(machine: string, snippet: string, lead = 'or in', note = ''): ManualStep {
  return manual(`${lead} /etc/systemd/nspawn/${machineName(machine)}.nspawn${note}`, snippet);
}
