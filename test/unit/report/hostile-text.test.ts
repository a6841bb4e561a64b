/**
 * Guest strings reach every human output: target names, summaries, messages, evidence, fix
 * titles, step descriptions, snippets, table cells. None may reach the terminal raw: not an ESC
 * sequence (colours, cursor moves, a line wiped by CSI 2K), not OSC 52 (writes the clipboard the
 * admin pastes from), not a bidi override (reorders a snippet on screen), not a C1 control.
 */
import { describe, expect, test } from 'vitest';
import { renderReport } from '../../../src/report/report-layout.js';
import { fitTable } from '../../../src/report/fit-table.js';
import { planTable } from '../../../src/cli/plan-table.js';
import { stepProgressLines, verdictLinesFitted } from '../../../src/cli/fix-progress.js';
import { fixCommand } from '../../../src/cli/fix-command.js';
import { escapeTerminal, stripOwnEscapes } from '../../../src/report/terminal-text.js';
import type { Report } from '../../../src/core/types.js';
import type { PlannedFix } from '../../../src/fixes/fix-plan.js';

const OSC52 = '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaAo=\u0007';
const HOSTILE = [
  `red\u001b[31mHOSTILE\u001b[0m`,
  `wipe\u001b[2K\u001b[1Ahidden`,
  `clip${OSC52}`,
  'bidi \u202eevil\u202c and \u2066isolate\u2069 \u200f',
  'c1 \u009b31m csi and \u0085 nel',
  'del \u007f bell \u0007 nul \u0000 cr \r tab \t',
  'line\u2028separator',
].join(' | ');

/** Characters that must never reach the terminal unescaped. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function hostileReport(): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'ctr-doctor', version: '0.1.0' },
    target: { kind: 'chroot', name: `/srv/${HOSTILE}`, root: `/srv/${HOSTILE}`, pid: 42 },
    startedAt: '2024-01-02T03:04:05.000Z',
    durationMs: 10,
    success: false,
    summary: { pass: 1, warn: 1, fail: 1, skip: 2, error: 1 },
    results: [
      { id: 'net.ping', group: 'net', title: 't', status: 'pass', summary: HOSTILE, durationMs: 1, findings: [], fixes: [] },
      { id: 'x11.socket', group: 'x11', title: 't', status: 'skip', summary: HOSTILE, durationMs: 1, findings: [], fixes: [] },
      { id: 'x11.display', group: 'x11', title: 't', status: 'skip', summary: HOSTILE, durationMs: 1, findings: [], fixes: [] },
      { id: 'audio.pulse', group: 'audio', title: 't', status: 'error', summary: HOSTILE, durationMs: 1, findings: [], fixes: [] },
      {
        id: 'dns.stub',
        group: 'dns',
        title: 't',
        status: 'warn',
        summary: HOSTILE,
        durationMs: 1,
        findings: [{ code: 'stub-dead', severity: 'warn', message: HOSTILE, evidence: { display: HOSTILE, list: [HOSTILE] } }],
        fixes: [],
      },
      {
        id: 'dns.resolv-conf',
        group: 'dns',
        title: 't',
        status: 'fail',
        summary: HOSTILE,
        durationMs: 1,
        findings: [
          { code: 'resolv-conf-empty', severity: 'fail', message: `${HOSTILE} x`, evidence: { path: HOSTILE } },
          { code: 'note', severity: 'info', message: `${HOSTILE} y`, evidence: {} },
        ],
        fixes: [
          {
            id: 'dns.write-resolv-conf',
            title: HOSTILE,
            safety: 'safe',
            steps: [{ kind: 'write', where: 'guest', path: `/etc/${HOSTILE}`, content: HOSTILE, description: HOSTILE }],
          },
          {
            id: 'dns.chroot-resolv-conf',
            title: HOSTILE,
            safety: 'manual',
            steps: [
              { kind: 'manual', where: 'host', description: HOSTILE, snippet: `cp -L /etc/resolv.conf '/srv/${HOSTILE}'\n${HOSTILE}` },
            ],
          },
        ],
      },
    ],
  };
}

function assertEscaped(text: string, color: boolean): void {
  if (!color) expect(text).not.toContain('\u001b');
  const visible = stripOwnEscapes(text);
  const bad = RAW.exec(visible);
  expect(
    bad,
    bad
      ? `raw U+${bad[0].charCodeAt(0).toString(16)} near ${JSON.stringify(visible.slice(Math.max(0, bad.index - 20), bad.index + 20))}`
      : '',
  ).toBeNull();
  expect(text).not.toContain('\u001b]52');
  expect(text).not.toContain('\u001b[31mHOSTILE');
  expect(text).not.toContain('\u001b[2K');
}

describe('hostile guest strings are escaped in every human output', () => {
  test.each([false, true])('the report (colour %s, plain and verbose)', (color) => {
    for (const verbose of [false, true]) {
      const text = renderReport(hostileReport(), {
        width: 80,
        color,
        verbose,
        docsUrl: 'file:///d/checks.md',
        fixCommand,
        applicableFixes: 1,
        session: { user: HOSTILE, uid: 1, chosenBy: 'x', envSource: HOSTILE },
      }).join('\n');
      assertEscaped(text, color);
      // What was there is shown, visibly: the admin sees that the guest tried something.
      expect(text).toContain('\\x1b[31mHOSTILE');
      expect(text).toContain('\\u202eevil');
    }
  });

  test('tables: list/checks cells, the dry-run plan', () => {
    assertEscaped(
      fitTable({
        columns: [{ head: 'target' }, { head: 'detail', dropOrder: 1 }],
        rows: [[HOSTILE, `${HOSTILE}\n${HOSTILE}`]],
        width: 80,
        color: true,
      }),
      true,
    );
    const plan: PlannedFix[] = hostileReport().results[5]!.fixes.map((f) => ({
      fixId: f.id,
      title: f.title,
      safety: f.safety,
      checkIds: [HOSTILE],
      action: 'apply',
      steps: f.steps,
    }));
    for (const color of [false, true]) assertEscaped(planTable(plan, 80, color), color);
    // cli-table3 measures non-ASCII text slowly (it compiles its emoji regex per cell): seconds on a loaded machine.
  }, 30_000);

  test('fix progress and verdict lines', () => {
    const fix: PlannedFix = {
      fixId: 'dns.write-resolv-conf',
      title: HOSTILE,
      safety: 'safe',
      checkIds: ['dns.resolv-conf'],
      action: 'apply',
      steps: [],
    };
    for (const color of [false, true]) {
      assertEscaped(
        stepProgressLines(fix, { index: 0, where: 'guest', status: 'failed', message: HOSTILE } as never, 80, color).join('\n'),
        color,
      );
      assertEscaped(
        verdictLinesFitted(
          [
            {
              fixId: 'x',
              title: HOSTILE,
              checkIds: [HOSTILE],
              status: 'failed',
              steps: [{ index: 0, where: 'guest', status: 'failed', message: HOSTILE }],
            } as never,
          ],
          80,
          color,
        ).join('\n'),
        color,
      );
    }
  });

  test('escapeTerminal writes each control as a visible escape', () => {
    expect(escapeTerminal('a\u001b[2Jb\nc\td\u202ee\u009bf')).toBe('a\\x1b[2Jb\\nc\\td\\u202ee\\x9bf');
    expect(escapeTerminal('plain text, ünïcödé and 漢字 and 🙂 stay')).toBe('plain text, ünïcödé and 漢字 and 🙂 stay');
  });
});
