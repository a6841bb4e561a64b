import { realCommandRunner } from '../../fixes/command-steps.js';
import { newHostContext } from '../diagnose.js';
import { openTarget } from '../../targets/open-target.js';
import { EXIT } from '../../core/exit-code.js';
import { JournalBusyError, stateDir, TargetJournal } from '../../fixes/journal.js';
import { undoEntry, type UndoItem, type UndoRunner } from '../../fixes/undo.js';
import { painter } from '../../report/style.js';
import type { CliIo } from '../io.js';
import { escapeTerminal, wrapText } from '../../report/terminal-text.js';

/** Arguments of `undo`. */
export interface UndoArgs {
  target?: string;
  user?: string;
  json?: boolean;
  color: boolean;
  /** `--state-dir`: where the journal is (as root, the only way to move it from /var/lib/ctr-doctor). */
  stateDir?: string;
}

const LABEL: Record<UndoItem['status'], string> = {
  restored: 'undone',
  unchanged: 'same',
  left: 'LEFT',
  'not-undoable': 'CANNOT',
  failed: 'FAIL',
};

/**
 * `ctr-doctor undo [TARGET]`: reverts the newest journal entry of the target. Files come back
 * byte for byte with mode and owner; what cannot be undone (commands, unmounts) is listed.
 * Exit 0 when everything that could be undone was; 1 when something was left or failed.
 */
export async function runUndoCommand(args: UndoArgs, io: CliIo): Promise<number> {
  const host = newHostContext(2000);
  const opened = await openTarget(args.target, { host, user: args.user });
  const target = opened.target;
  const journal = new TargetJournal(stateDir(io.env, process.getuid?.(), args.stateDir), {
    kind: target.kind,
    name: target.name,
    root: target.root,
  });
  let release: () => Promise<void>;
  try {
    release = await journal.lock();
  } catch (error) {
    if (!(error instanceof JournalBusyError)) throw error;
    io.err.write(`ctr-doctor undo: ${error.message}\n`);
    return EXIT.usage;
  }
  try {
    // Undo commands a step recorded (xhost -si:…) run as its steps did: on the host by absolute path, in the guest through the Target.
    return await undoLatest(
      args,
      io,
      journal,
      target,
      realCommandRunner(target, target.fileRoot, async () => [], host),
    );
  } finally {
    await release();
  }
}

async function undoLatest(
  args: UndoArgs,
  io: CliIo,
  journal: TargetJournal,
  target: { kind: string; name: string; fileRoot: string },
  runner: UndoRunner,
): Promise<number> {
  const latest = await journal.latest();
  if (latest === null) {
    if (args.json) io.out.write(JSON.stringify({ schemaVersion: 1, entry: null, items: [] }, null, 2) + '\n');
    else
      io.out.write(
        wrapText(
          escapeTerminal(`Nothing to undo for ${target.kind} ${target.name} (no journal entry in ${journal.dir}).`),
          io.width,
          '',
          '  ',
        ).join('\n') + '\n',
      );
    return EXIT.ok;
  }
  const items = await undoEntry(target.fileRoot, latest.dir, latest.entry, runner);
  const code = items.some((i) => i.status === 'left' || i.status === 'failed') ? EXIT.problems : EXIT.ok;
  // A failed restore, or a path left because it changed since the fix, keeps the entry: `undo` can be run again.
  if (!items.some((i) => i.status === 'failed' || i.status === 'left')) {
    latest.entry.undoneAt = new Date().toISOString();
    await journal.save(latest.dir, latest.entry);
  }
  if (args.json) {
    io.out.write(JSON.stringify({ schemaVersion: 1, entry: latest.entry.id, items }, null, 2) + '\n');
    return code;
  }
  const p = painter(io.color(args.color));
  // Journal entries hold guest paths and messages: escaped, and wrapped to the width.
  const lines = wrapText(
    escapeTerminal(`Undoing the fix run of ${latest.entry.createdAt} on ${target.kind} ${target.name}:`),
    io.width,
    '',
    '  ',
  );
  for (const item of items) {
    const label = LABEL[item.status].padEnd(6);
    const paint = item.status === 'restored' ? p.green : item.status === 'unchanged' ? p.gray : p.yellow;
    const wrapped = wrapText(escapeTerminal(`${item.fixId}: ${item.message}`), io.width, `  ${label} `, '         ');
    lines.push(...wrapped.map((l, i) => (i === 0 ? `  ${paint(label)}${l.slice(2 + label.length)}` : l)));
  }
  const cannot = items.filter((i) => i.status === 'not-undoable').length;
  if (cannot > 0) lines.push(...wrapText(`${cannot} step(s) cannot be undone (listed above); nothing was pretended.`, io.width, '', '  '));
  const left = items.filter((i) => i.status === 'left').length;
  if (left > 0)
    lines.push(
      ...wrapText(
        `${left} path(s) changed after the fix and were left as they are; the journal entry is kept, so \`ctr-doctor undo\` can be run again.`,
        io.width,
        '',
        '  ',
      ),
    );
  io.out.write(lines.join('\n') + '\n');
  return code;
}
