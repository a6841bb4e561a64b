import { EXIT } from '../../core/exit-code.js';
import { buildDemoGuest, type DemoGuest } from '../../demo/demo-guest.js';
import { DEMO_BREAKAGE, DEMO_UID } from '../../demo/break-guest.js';
import { runCheckCommand } from './check.js';
import { runFixCommand } from './fix.js';
import type { CliIo } from '../io.js';
import { wrapText } from '../../report/terminal-text.js';

/** Arguments of `demo`. */
export interface DemoArgs {
  fix: boolean;
  keep: boolean;
  color: boolean;
  verbose: boolean;
  json?: boolean;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `ctr-doctor demo [--fix] [--keep]`: builds a throwaway broken guest, diagnoses it (and with
 * `--fix` fixes it and checks again), then removes everything unless `--keep`.
 * Exit code: like `check`, or like `fix` with `--fix`; 2 when not root.
 */
export async function runDemoCommand(args: DemoArgs, io: CliIo): Promise<number> {
  if (process.getuid?.() !== 0) {
    io.err.write('ctr-doctor: demo needs root: it mounts an overlay and creates a network namespace (run it with sudo)\n');
    return EXIT.usage;
  }
  // Continuation lines line up under the text after "demo: " (and after a list item's "- ").
  const say = (line: string) => {
    const item = line.startsWith('  - ');
    io.err.write(
      wrapText(item ? line.slice(4) : line, io.width, item ? 'demo:   - ' : 'demo: ', item ? '          ' : '      ').join('\n') + '\n',
    );
  };
  say('building a throwaway guest…');
  const guest = await buildDemoGuest(say);
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed || args.keep) return;
    destroyed = true;
    const problems = await guest.destroy();
    if (problems.length > 0)
      io.err.write(`demo: cleanup left something behind: ${problems.join('; ')}\nRemove it with: ${guest.cleanupCommand}\n`);
    else say('removed the guest, its mounts and its network namespace');
  };
  const onSignal = (signal: NodeJS.Signals) =>
    void destroy().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)));
  for (const s of SIGNALS) process.once(s, onSignal);
  try {
    intro(guest, say);
    const common = {
      target: guest.target,
      user: String(DEMO_UID),
      timeout: 2000,
      strict: false,
      compareHost: false,
      verbose: args.verbose,
      all: false,
      color: args.color,
      json: args.json,
    };
    if (!args.fix) return await runCheckCommand(common, io);
    // The journal lives on the demo's tmpfs, so nothing is left in /var/lib.
    return await runFixCommand({ ...common, yes: true, dryRun: false, unsafe: false, stateDir: `${guest.base}/state` }, io, {
      undoHint: false,
    });
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    if (args.keep) {
      io.err.write(
        `demo: kept the guest. TARGET: ${guest.target}\n  try: ctr-doctor ${guest.target} --user ${DEMO_UID}\n  remove it with: ${guest.cleanupCommand}\n`,
      );
    }
    await destroy();
  }
}

function intro(guest: DemoGuest, say: (line: string) => void): void {
  say(
    `guest root ${guest.root} (${guest.method === 'overlay' ? 'an overlay of / on a tmpfs' : 'a copied minimal root on a tmpfs'}), network namespace ${guest.netns}, pid ${guest.pid} as uid ${DEMO_UID}`,
  );
  say('broken on purpose, as in "Containers Without Docker":');
  for (const line of DEMO_BREAKAGE) say(`  - ${line}`);
}
