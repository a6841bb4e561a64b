import yargs, { type Argv } from 'yargs';
import { withDiagnoseOptions } from './common-options.js';
import { processIo, type CliIo } from './io.js';
import { UsageError } from './usage-error.js';
import { TargetError } from '../targets/target-error.js';
import { TOOL_VERSION } from '../core/version.js';
import { EXIT } from '../core/exit-code.js';
import { timing } from '../core/timing.js';
import { endLiveChildren } from '../core/live-children.js';
import { removeLeftShmSegments } from '../host/sysv-shm.js';
import { escapeTerminal } from '../report/terminal-text.js';

const EPILOG = 'Exit codes: 0 healthy, 1 a check failed, 2 bad usage or target, 3 a check could not run.';

/** Runs the CLI and returns the exit code; `bin` only sets process.exitCode. */
/**
 * yargs lays out the whole help text of a command named on the command line (`check X`, `fix X`)
 * as it starts the command's handler, in case the handler shows help: 60-80 ms of string-width and
 * wrapping per run. Ours never show help once running (usage errors are one line), so it is skipped.
 */
function skipHelpCache(parser: Argv): void {
  const internal = parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => undefined;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  timing('main');
  let code: number = EXIT.ok;
  let completionAnswered = () => {};
  const answered = new Promise<void>((resolve) => {
    completionAnswered = resolve;
  });
  const parser: Argv = yargs(argv)
    .scriptName('ctr-doctor')
    .usage('$0 [check] [TARGET] [options]\n\nDiagnose a light Linux container (chroot, schroot, systemd-nspawn, any pid) from the inside.')
    .command(
      ['check [target]', '$0 [target]'],
      'diagnose a guest (the default command)',
      (y) =>
        withDiagnoseOptions(y)
          .example('$0 chroot:/srv/bookworm', 'diagnose a chroot directory')
          .example('$0 nspawn:mybox --only dns,x11', 'only the DNS and X11 checks')
          .example('$0 session:bookworm-1 --json', 'JSON report for CI')
          .example('sudo $0 --all --format prometheus', 'every guest, for node_exporter'),
      async (args) => {
        const { runCheckCommand } = await import('./commands/check.js');
        code = await toOutput(args.output, io, (out) => runCheckCommand(args, out));
      },
    )
    .command(
      'fix [target]',
      'diagnose, apply the fixes, diagnose again',
      (y) =>
        withDiagnoseOptions(y)
          .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'apply without asking' })
          .option('unsafe', { type: 'boolean', default: false, describe: 'also apply fixes marked unsafe' })
          .option('state-dir', { type: 'string', describe: 'keep the journal (for undo) in DIR instead of /var/lib/ctr-doctor' })
          .example('$0 fix chroot:/srv/bookworm --dry-run', 'show the plan: steps, host or guest, safety')
          .example('sudo $0 fix nspawn:mybox --yes', 'apply the safe fixes without asking'),
      async (args) => {
        const { runFixCommand } = await import('./commands/fix.js');
        code = await toOutput(args.output, io, (out) => runFixCommand(args, out));
      },
    )
    .command(
      'undo [target]',
      'revert the fixes applied last (journal)',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'the same TARGET given to fix' })
          .option('user', { type: 'string', describe: 'the desktop user inside the guest (name or uid)' })
          .option('state-dir', { type: 'string', describe: 'the journal directory given to fix --state-dir' })
          .option('json', { type: 'boolean', describe: 'write what was undone as JSON' })
          .option('color', { type: 'boolean', default: true, describe: 'colour output' }),
      async (args) => {
        const { runUndoCommand } = await import('./commands/undo.js');
        code = await runUndoCommand(args, io);
      },
    )
    .command(
      'demo',
      'build a throwaway broken guest, diagnose it, clean up (needs root)',
      (y) =>
        y
          .option('fix', { type: 'boolean', default: false, describe: 'also fix it and check again' })
          .option('keep', { type: 'boolean', default: false, describe: 'keep the guest and print its TARGET and the cleanup command' })
          .option('json', { type: 'boolean', describe: 'write only the JSON report (or fix result) to stdout' })
          .option('verbose', { type: 'boolean', default: false, describe: 'show every finding' })
          .option('color', { type: 'boolean', default: true, describe: 'colour output' })
          .example('sudo $0 demo --fix', 'broken, fixed, checked again'),
      async (args) => {
        const { runDemoCommand } = await import('./commands/demo.js');
        code = await runDemoCommand(args, io);
      },
    )
    .command(
      'checks',
      'list the registered checks: id, group, title',
      (y) => y.option('json', { type: 'boolean' }).option('plugin', { type: 'string', array: true }),
      async (args) => {
        const [{ runChecksCommand }, { resolveChecks }] = await Promise.all([import('./commands/checks.js'), import('./diagnose.js')]);
        const checks = await resolveChecks({ timeout: 2000, strict: false, compareHost: false, verbose: false, plugin: args.plugin }, (l) =>
          io.err.write(l + '\n'),
        );
        code = runChecksCommand(checks, Boolean(args.json), io);
      },
    )
    .command(
      'explain <name>',
      'the documentation of a finding code or check id (or fix id)',
      (y) =>
        y
          .positional('name', { type: 'string', describe: 'a finding code (resolv-conf-empty), a check id (dns.resolv-conf) or a fix id' })
          .option('plugin', { type: 'string', array: true, describe: 'load more checks and fixes from a module (repeatable)' })
          .example('$0 explain resolv-conf-empty', 'what the code means and what to do'),
      async (args) => {
        const [{ runExplainCommand }, { resolveChecks }] = await Promise.all([import('./commands/explain.js'), import('./diagnose.js')]);
        const checks = await resolveChecks({ timeout: 2000, strict: false, compareHost: false, verbose: false, plugin: args.plugin }, (l) =>
          io.err.write(l + '\n'),
        );
        code = runExplainCommand(checks, String(args.name), io);
      },
    )
    .command(
      'list',
      'list the containers found on this host',
      (y) => y.option('json', { type: 'boolean' }).example('$0 list --json', 'machine-readable list'),
      async (args) => {
        const { runListCommand } = await import('./commands/list.js');
        code = await runListCommand(Boolean(args.json), io);
      },
    )
    .command(
      'schema [which]',
      'print the JSON Schema of the report (or of the fleet summary, or of fix --json)',
      (y) =>
        y.positional('which', {
          choices: ['report', 'summary', 'fix'] as const,
          default: 'report',
          describe: 'report (of check and fix), summary, or fix (the whole of fix --json)',
        }),
      async (args) => {
        const { runSchemaCommand } = await import('./commands/schema.js');
        code = runSchemaCommand(args.which as 'report' | 'summary' | 'fix', io);
      },
    )
    .command(
      'summary <paths..>',
      'one fleet table from many reports (files or directories of *.json)',
      (y) =>
        y
          .positional('paths', {
            type: 'string',
            array: true,
            describe: 'report files (check, check --all, fix --json) or directories of them',
          })
          .option('json', { type: 'boolean', describe: 'write the summary as JSON (schema: `ctr-doctor schema summary`)' })
          .option('color', { type: 'boolean', default: true, describe: 'colour output' })
          .example('$0 summary ./ctr-doctor-reports', 'the fleet table of the reports the Ansible playbook fetched')
          .epilogue(
            'Exit codes: 0 healthy, 1 a report has a failure, 2 an input could not be read (the others are still summarised), 3 a check could not run.',
          ),
      async (args) => {
        const { runSummaryCommand } = await import('./commands/summary.js');
        code = runSummaryCommand({ paths: args.paths as string[], json: args.json, color: args.color }, io);
      },
    )
    .command(
      'completion [shell]',
      'print the shell completion script (bash or zsh; default: $SHELL)',
      (y) =>
        y
          .positional('shell', { choices: ['bash', 'zsh'] as const, describe: 'the shell to complete for' })
          .example('$0 completion bash >> ~/.bashrc', 'complete commands, options, check ids and targets in bash'),
      async (args) => {
        const { runCompletionCommand } = await import('./commands/completion.js');
        code = runCompletionCommand(args.shell, io);
      },
    )
    // Hidden: answers the scripts' `--get-yargs-completions` requests (check ids, target prefixes).
    .completion(
      '__yargs-completion',
      false,
      (
        _current: string,
        _parsed: unknown,
        defaults: (cb?: (err: Error | null, words: string[] | undefined) => void) => void,
        done: (words: string[]) => void,
      ) => {
        const finish = (words: string[]) => {
          done(words);
          completionAnswered();
        };
        void import('./commands/completion.js').then(({ completeArgv }) =>
          completeArgv(
            argv,
            io.env,
            (cb) => {
              defaults(
                cb ??
                  ((_e, w) => {
                    finish(w ?? []);
                  }),
              );
            },
            finish,
          ),
        );
      },
    )
    .epilogue(EPILOG)
    .version(TOOL_VERSION)
    .help()
    .alias('h', 'help')
    .strict()
    // columns is typed number but is undefined on a pipe.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      // yargs passes null for either, whatever its types say.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      throw error ?? new UsageError(message ?? 'bad usage');
    });
  skipHelpCache(parser);
  try {
    // Shell completion (`--get-yargs-completions WORDS…`): yargs prints the words; no command may run.
    if (argv[0] === '--get-yargs-completions') {
      // yargs may throw synchronously from parseAsync (our middleware), so wrap it.
      await Promise.resolve()
        .then(() =>
          parser
            .strict(false)
            .middleware(() => {
              throw new CompletionAnswered();
            })
            .parseAsync(),
        )
        .catch(() => undefined);
      await Promise.race([answered, new Promise((r) => setTimeout(r, 5000).unref())]);
      return EXIT.ok;
    }
    await parser.parseAsync();
    // Nothing of ours outlives the CLI: a SysV segment a cut-off x11.mitshm left is removed, the probe children of the last run are ended and waited for.
    await removeLeftShmSegments();
    await endLiveChildren();
    timing('done');
    return code;
  } catch (error) {
    return reportError(error, io);
  }
}

/** Runs a command with its stdout going to `--output FILE` (atomically), or straight to stdout. */
async function toOutput(file: string | undefined, io: CliIo, command: (io: CliIo) => Promise<number>): Promise<number> {
  if (file === undefined) return command(io);
  const { withOutputFile } = await import('./output-file.js');
  return withOutputFile(file, io, command);
}

/** A message as one escaped line: yargs' own messages span lines ("Invalid values:\n  Argument: …"). */
function oneLine(text: string): string {
  return escapeTerminal(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' '),
  );
}

/** Stops a command from running once yargs has answered a completion request. */
class CompletionAnswered extends Error {}

/** One line on stderr for every kind of failure; never a stack trace. */
function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CompletionAnswered) return EXIT.ok;
  if (error instanceof TargetError || error instanceof UsageError) {
    // A target's message can carry guest text (a path, a name): escaped, still one line.
    io.err.write(`ctr-doctor: ${oneLine(error.message)} (${oneLine(error.hint)})\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  if ((error as { name?: string } | null)?.name === 'YError') {
    io.err.write(`ctr-doctor: ${escapeTerminal(message.split('\n')[0] ?? '')} (see \`ctr-doctor --help\`)\n`);
    return EXIT.usage;
  }
  io.err.write(
    `ctr-doctor: internal error: ${escapeTerminal(message.split('\n')[0] ?? '')} (run with NODE_DEBUG=ctr-doctor for more; please report it)\n`,
  );
  if (io.env.NODE_DEBUG?.includes('ctr-doctor') && error instanceof Error) io.err.write(`${error.stack}\n`);
  return EXIT.usage;
}
