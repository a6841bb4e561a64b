import type { Fix } from '../../core/types.js';
import { shellQuote } from './shell-quote.js';

/** What the session fixes need to know of a session. */
export interface SessionRef {
  id: string;
  stateFile: string;
  /** Host path where the session's root is mounted. */
  mountLocation: string;
}

/** `sh -c` text that succeeds when the state file is gone (the session already ended). */
const ended = (s: SessionRef): string => `test ! -e ${shellQuote(s.stateFile)}`;

/** The way schroot itself offers: remount the session (`--recover-session`), then end it cleanly. */
export function endStaleSessionFix(s: SessionRef): Fix<'schroot.end-stale-session'> {
  return {
    id: 'schroot.end-stale-session',
    title: `Recover, then end the stale schroot session ${s.id}`,
    safety: 'safe',
    steps: [
      {
        kind: 'exec',
        where: 'host',
        argv: ['schroot', '--recover-session', '-c', `session:${s.id}`],
        unless: ['sh', '-c', `mountpoint -q ${shellQuote(s.mountLocation)} || ${ended(s)}`],
        undo: { impossible: 'it remounted the session only so that it could be ended (the next step); there is nothing to revert' },
        description: `remount the session's chroot so schroot can run its end scripts (schroot --recover-session -c session:${s.id})`,
      },
      {
        kind: 'exec',
        where: 'host',
        argv: ['schroot', '--end-session', '-c', `session:${s.id}`],
        unless: ['sh', '-c', ended(s)],
        undo: { impossible: `an ended schroot session cannot be brought back; begin a new one (schroot -b -c CHROOT) if it is needed` },
        description: `end the session: its processes are killed, its mounts removed, its state file deleted (schroot --end-session -c session:${s.id})`,
      },
    ],
  };
}

/** When recovery fails (the chroot definition is gone): force the end, then remove what is left by hand. */
export function forceRemoveSessionFix(s: SessionRef): Fix<'schroot.force-remove-session'> {
  return {
    id: 'schroot.force-remove-session',
    title: `Force the stale session ${s.id} away (schroot --end-session --force, then its state file by hand)`,
    safety: 'unsafe',
    steps: [
      {
        kind: 'exec',
        where: 'host',
        argv: ['schroot', '--end-session', '--force', '-c', `session:${s.id}`],
        unless: ['sh', '-c', ended(s)],
        undo: { impossible: 'an ended schroot session cannot be brought back; begin a new one (schroot -b -c CHROOT) if it is needed' },
        description: 'end the session even though its setup scripts fail',
      },
      {
        kind: 'umount',
        where: 'host',
        path: s.mountLocation,
        recursive: true,
        makeRslave: true,
        lazy: false,
        description: `unmount whatever is left at ${s.mountLocation} (mount --make-rslave first)`,
      },
      {
        kind: 'exec',
        where: 'host',
        argv: ['rm', '-f', '--', s.stateFile],
        unless: ['sh', '-c', ended(s)],
        undo: { impossible: `the state file of a session whose mounts are gone is not put back: schroot would list a stale session again` },
        description: `delete the session's state file ${s.stateFile}, so schroot stops listing it`,
      },
    ],
  };
}

/** One config change: the file, the line, what is there and what should be. */
export interface ConfigEdit {
  file: string;
  /** 1-based line to change; null to add a line (after `after`, when given). */
  line: number | null;
  old: string | null;
  /** The replacement lines; empty to delete the line. */
  replacement: string[];
  /** For an added line: the line number it goes after (such as the `[name]` header). */
  after?: number;
  why: string;
}

/** A manual fix made of exact config edits (host files are never rewritten automatically). */
export function configEditFix<Id extends string>(id: Id, title: string, edits: ConfigEdit[]): Fix<Id> {
  return {
    id,
    title,
    safety: 'manual',
    steps: edits.map((e) => ({
      kind: 'manual' as const,
      where: 'host' as const,
      description:
        e.line !== null
          ? `${e.file} line ${e.line}: ${e.replacement.length === 0 ? 'delete' : 'replace'} "${e.old ?? ''}"${e.replacement.length === 0 ? '' : ' with the lines below'} (${e.why})`
          : `${e.file}: add ${e.after !== undefined ? `after line ${e.after}` : 'the line below'} (${e.why})`,
      ...(e.replacement.length > 0 ? { snippet: e.replacement.join('\n') } : {}),
    })),
  };
}
