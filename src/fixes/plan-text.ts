import type { FixStep } from '../core/types.js';

/** One line saying what a step does, where. */
export function stepLine(step: FixStep): string {
  switch (step.kind) {
    case 'write':
      return `write ${step.path}${step.mode !== undefined ? ` (mode ${step.mode.toString(8)})` : ''}: ${step.description}`;
    case 'symlink':
      return `symlink ${step.path} -> ${step.target}: ${step.description}`;
    case 'mkdir':
      return `mkdir ${step.path}${step.mode !== undefined ? ` mode ${step.mode.toString(8)}` : ''}${step.uid !== undefined ? ` owner ${step.uid}:${step.gid ?? step.uid}` : ''}: ${step.description}`;
    case 'exec':
      return `run \`${step.argv.join(' ')}\`${step.unless ? ` unless \`${step.unless.join(' ')}\` succeeds` : ''}: ${step.description}`;
    case 'umount':
      return `${step.makeRslave ? `mount --make-rslave ${step.path}; ` : ''}umount${step.recursive ? ' -R' : ''}${step.lazy ? ' -l' : ''} ${step.path}: ${step.description}`;
    case 'mount':
      return `${step.source.kind === 'tmpfs' ? `mount a tmpfs (${step.source.options})` : `bind the host's ${step.source.hostPath}`} on ${step.path} in the guest, through its descriptor: ${step.description}`;
    case 'manual':
      return `by hand: ${step.description}`;
  }
}
