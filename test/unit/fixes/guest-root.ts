import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TargetJournal, type EntryRecorder } from '../../../src/fixes/journal.js';

/** A scratch guest root, a place outside it (standing in for the host), and a journal. */
export interface Scratch {
  root: string;
  outside: string;
  journal: TargetJournal;
  recorder: EntryRecorder;
  /** Host path of a guest path (no resolution). */
  at(guestPath: string): string;
  file(guestPath: string, content: string): void;
  link(guestPath: string, target: string): void;
  dispose(): void;
}

/** Makes a scratch root with `etc/`, a sibling "host" dir and a journal under a temp dir. */
export function scratch(): Scratch {
  const base = mkdtempSync(path.join(os.tmpdir(), 'ctd-fixes-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'host');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(outside);
  const journal = new TargetJournal(path.join(base, 'state'), { kind: 'chroot', name: root, root });
  const at = (p: string) => path.join(root, p);
  return {
    root,
    outside,
    journal,
    recorder: journal.startEntry(),
    at,
    file: (p, content) => {
      mkdirSync(path.dirname(at(p)), { recursive: true });
      writeFileSync(at(p), content);
    },
    link: (p, target) => {
      mkdirSync(path.dirname(at(p)), { recursive: true });
      symlinkSync(target, at(p));
    },
    dispose: () => rmSync(base, { recursive: true, force: true }),
  };
}
