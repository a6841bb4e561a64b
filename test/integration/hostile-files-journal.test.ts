/**
 * L1 (security audit): the journal against concurrent runs. A `fix` while another run holds the
 * target's journal changes nothing and says who holds it; several `fix` runs started at once
 * against one journal leave well-formed, uniquely numbered entries, and `undo` puts the guest
 * back byte for byte.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { TargetJournal } from '../../src/fixes/journal.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool } from '../harness/tool.js';
import { treeFingerprint } from '../harness/tree-hash.js';
import { createWorld, type World } from '../harness/world.js';

describeIntegration('hostile runs: concurrent fix runs against one journal (L1)', () => {
  let w: World;
  let state = '';
  beforeAll(async () => {
    w = await createWorld();
    state = join(w.stateDir, 'journal');
  });
  afterAll(async () => w?.dispose());

  /** A file-only root without the user's runtime dir: dconf.make-runtime-dir (safe) creates it. */
  const brokenRoot = (name: string): string => w.minimalRoot(name);
  const fix = (root: string) =>
    runTool(['fix', `chroot:${root}`, '--only', 'dconf.runtime-dir', '--user', '1000', '--yes'], {
      netns: w.net.offNsPath,
      env: { CTR_DOCTOR_STATE_DIR: state },
    });

  test('a fix while another run holds the journal is refused with one line and changes nothing', async () => {
    const root = brokenRoot('journal-held');
    const journal = new TargetJournal(state, { kind: 'chroot', name: root, root });
    const release = await journal.lock();
    try {
      const before = treeFingerprint(root);
      const r = await fix(root);
      expect(r.exitCode, r.stdout).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`another ctr-doctor run \\(pid ${process.pid}\\)`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(treeFingerprint(root)).toEqual(before);
    } finally {
      await release();
    }
  });

  test('runs started together leave whole, uniquely numbered entries, and undo restores the guest', async () => {
    const root = brokenRoot('journal-race');
    const before = treeFingerprint(root);
    const runs = await Promise.all([fix(root), fix(root), fix(root)]);
    for (const r of runs) {
      // Each run either applied (0), or found it done already (0), or was refused by the lock (2).
      expect([0, 2], r.stderr).toContain(r.exitCode);
      if (r.exitCode === 2) expect(r.stderr).toMatch(/another ctr-doctor run/);
    }
    expect(runs.some((r) => r.exitCode === 0)).toBe(true);
    const journal = new TargetJournal(state, { kind: 'chroot', name: root, root });
    const names = readdirSync(journal.dir).filter((n) => !n.startsWith('.'));
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names.map((n) => n.slice(0, 6))).size).toBe(names.length);
    for (const n of names) {
      const entry = JSON.parse(readFileSync(join(journal.dir, n, 'journal.json'), 'utf8')) as { changes: { state: string }[] };
      expect(entry.changes.every((c) => c.state === 'done')).toBe(true);
      expect(readdirSync(join(journal.dir, n)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
    expect(existsSync(join(journal.dir, '.lock'))).toBe(false);
    const undo = await runTool(['undo', `chroot:${root}`], { netns: w.net.offNsPath, env: { CTR_DOCTOR_STATE_DIR: state } });
    expect(undo.exitCode, undo.stdout + undo.stderr).toBe(0);
    expect(treeFingerprint(root)).toEqual(before);
  });
});
