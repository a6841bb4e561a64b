/**
 * The terminal reporter in a real pseudo-terminal: `ctr-doctor demo` runs inside a tmux pane of
 * 80 columns (under `nsenter --net=` a namespace of the test's), and the final screen is read
 * back. The live listr2 view must have made way for the report (nothing told twice), the colour
 * terminal must show symbols, and no line may have wrapped (tmux's -J joins wrapped lines back).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, waitFor } from '../harness/proc.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { CLI_PATH, REPO_ROOT } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import { displayWidth } from '../../src/report/terminal-text.js';

const missing = requireTool('tmux');
if (missing) console.warn(`SKIPPING tty-report tests: ${missing} (apt-get install tmux)`);
const describeTty = missing ? (describe.skip as unknown as typeof describe) : describeIntegration;

/** The checks the demo breaks on purpose: each must be told once, in Problems. */
const BROKEN = ['dns.resolv-conf', 'x11.display', 'dconf.runtime-dir'];

describeTty('tty reporter in a real terminal', () => {
  let w: World;
  // A tmux server of our own (its own socket), so that killing it ends only what this test started.
  const socket = `ctd-tty-${process.pid}`;
  const tmux = (...args: string[]) => run(['tmux', '-L', socket, ...args]);
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => {
    await tmux('kill-server');
    await w?.dispose();
  });

  test.each([80, 60])(
    'demo at %i columns: the final screen is the report, once, fitted',
    async (columns) => {
      const session = `demo${columns}`;
      const command = `env -u NO_COLOR -u COLUMNS TERM=xterm-256color CTR_DOCTOR_PING_TARGET=127.0.0.1 nsenter --net=${w.net.offNsPath} ${process.execPath} ${CLI_PATH} demo; echo "EXIT=$?"; sleep 120`;
      const started = await tmux('new-session', '-d', '-s', session, '-x', String(columns), '-y', '300', '-c', REPO_ROOT, command);
      expect(started.exitCode, started.stderr).toBe(0);
      const screen = await waitFor(
        'the demo to finish in the tmux pane',
        async () => {
          const r = await tmux('capture-pane', '-p', '-J', '-t', session, '-S', '-');
          return /EXIT=\d+/.test(r.stdout) ? r.stdout : null;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      await tmux('kill-session', '-t', session);

      expect(screen).toMatch(/EXIT=1/);
      const lines = screen.replace(/\n+$/, '').split('\n');
      for (const line of lines) expect(displayWidth(line), JSON.stringify(line)).toBeLessThanOrEqual(columns);
      const text = lines.join('\n');
      expect(text).toMatch(/^✔ \d+ passed: /m);
      expect(text).toContain('Problems (');
      const problems = text.indexOf('Problems (');
      for (const id of BROKEN) {
        // listr2's live titles were "ID: summary" too: a leftover live view would show each twice.
        expect(text.split(`✖ ${id}:`).length - 1, id).toBe(1);
        expect(text.indexOf(`✖ ${id}:`), id).toBeGreaterThan(problems);
      }
      expect(text).toMatch(/^\d+ passed, \d+ warnings?, \d+ failed, \d+ skipped(, \d+ could not run)? in \d+\.\d\d s$/m);
      expect(text).toContain('demo: removed the guest');
    },
    120_000,
  );
});
