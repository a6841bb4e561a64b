import { newHostContext } from '../diagnose.js';
import { openTarget } from '../../targets/open-target.js';
import { EXIT } from '../../core/exit-code.js';
import { stateDir, TargetJournal } from '../../fixes/journal.js';
import { undoEntry, type UndoItem } from '../../fixes/undo.js';
import { painter } from '../../report/style.js';
import type { CliIo } from '../io.js';
import { escapeTerminal, wrapText } from '../../report/terminal-text.js';

/** Arguments of `undo`. */
export interface UndoArgs {
  target?: string;
  user?: string;
  json?: boolean;
  color: boolean;
}

const LABEL: Record<UndoItem['status'], string> = { restored: 'undone', unchanged: 'same', left: 'LEFT', 'not-undoable': 'CANNOT', failed: 'FAIL' };

/**
 * `ctr-doctor undo [TARGET]`: reverts the newest journal entry of the target. Files come back
 * byte for byte with mode and owner; what cannot be undone (commands, unmounts) is listed.
 * Exit 0 when everything that could be undone was; 1 when something was left or failed.
 */
export async function runUndoCommand(args: UndoArgs, io: CliIo): Promise<number> {
  const opened = await openTarget(args.target, { host: newHostContext(2000), user: args.user });
  const target = opened.target;
  const journal = new TargetJournal(stateDir(io.env), { kind: target.kind, name: target.name, root: target.root });
  const latest = await journal.latest();
  if (latest === null) {
    if (args.json) io.out.write(JSON.stringify({ schemaVersion: 1, entry: null, items: [] }, null, 2) + '\n');
    else io.out.write(wrapText(escapeTerminal(`Nothing to undo for ${target.kind} ${target.name} (no journal entry in ${journal.dir}).`), io.width, '', '  ').join('\n') + '\n');
    return EXIT.ok;
  }
  const items = await undoEntry(target.fileRoot, latest.dir, latest.entry);
  const code = items.some((i) => i.status === 'left' || i.status === 'failed') ? EXIT.problems : EXIT.ok;
  // A failed restore keeps the entry, so `undo` can be run again once the cause is fixed.
  if (!items.some((i) => i.status === 'failed')) {
    latest.entry.undoneAt = new Date().toISOString();
    await journal.save(latest.dir, latest.entry);
  }
  if (args.json) {
    io.out.write(JSON.stringify({ schemaVersion: 1, entry: latest.entry.id, items }, null, 2) + '\n');
    return code;
  }
  const p = painter(io.color(args.color));
  // Journal entries hold guest paths and messages: escaped, and wrapped to the width.
  const lines = wrapText(escapeTerminal(`Undoing the fix run of ${latest.entry.createdAt} on ${target.kind} ${target.name}:`), io.width, '', '  ');
  for (const item of items) {
    const label = LABEL[item.status].padEnd(6);
    const paint = item.status === 'restored' ? p.green : item.status === 'unchanged' ? p.gray : p.yellow;
    const wrapped = wrapText(escapeTerminal(`${item.fixId}: ${item.message}`), io.width, `  ${label} `, '         ');
    lines.push(...wrapped.map((l, i) => (i === 0 ? `  ${paint(label)}${l.slice(2 + label.length)}` : l)));
  }
  const cannot = items.filter((i) => i.status === 'not-undoable').length;
  if (cannot > 0) lines.push(...wrapText(`${cannot} step(s) cannot be undone (listed above); nothing was pretended.`, io.width, '', '  '));
  io.out.write(lines.join('\n') + '\n');
  return code;
}
