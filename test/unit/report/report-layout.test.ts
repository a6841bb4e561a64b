/**
 * The human report at the widths people use: a real broken demo guest and a real healthy one
 * (JSON reports recorded from `ctr-doctor demo` and the same guest after `fix`, paths normalised),
 * rendered at 60, 80, 100 and 160 columns, plain and coloured.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { renderReport, type LayoutOptions } from '../../../src/report/report-layout.js';
import { displayWidth, stripOwnEscapes } from '../../../src/report/terminal-text.js';
import { applicableFixes, fixCommand } from '../../../src/cli/fix-command.js';
import type { Report } from '../../../src/core/types.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')) as Report;
const broken = fixture('broken-demo');
const healthy = fixture('healthy-demo');
function render(report: Report, opts: Partial<LayoutOptions>): string[] {
  const session = { user: 'cloudsdk', uid: 1000, chosenBy: 'from --user', envSource: `process ${report.target.pid}` };
  // As the CLI renders it: with its fix commands and the count of fixes `fix` would apply.
  return renderReport(report, {
    width: 80,
    color: false,
    verbose: false,
    session,
    fixCommand,
    applicableFixes: applicableFixes(report),
    ...opts,
  });
}

/** The report as one line of words, so a summary wrapped over lines is still found. */
function flat(lines: string[]): string {
  return stripOwnEscapes(lines.join(' ')).replace(/\s+/g, ' ');
}

const occurrences = (haystack: string, needle: string) => haystack.split(needle).length - 1;

describe.each([60, 80, 100, 160])('at %i columns', (width) => {
  describe.each([
    ['broken', broken],
    ['healthy', healthy],
  ] as const)('%s guest', (_name, report) => {
    test.each([false, true])('colour %s: no line is wider than the terminal', (color) => {
      for (const verbose of [false, true]) {
        for (const line of render(report, { width, color, verbose }))
          expect(displayWidth(line), JSON.stringify(line)).toBeLessThanOrEqual(width);
      }
    });

    test('each failing or warning summary is printed once, in Problems', () => {
      const lines = render(report, { width, color: false, verbose: false });
      const text = flat(lines);
      const problems = text.indexOf('Problems (');
      for (const r of report.results.filter((x) => x.status === 'fail' || x.status === 'warn')) {
        const summary = r.summary.replace(/\s+/g, ' ');
        expect(occurrences(text, summary), r.id).toBe(1);
        expect(text.indexOf(summary)).toBeGreaterThan(problems);
      }
    });
  });
});

describe('report shape', () => {
  test('broken guest: header, folded passes and skips, problems with fixes safe first, closing line with the fix hint', () => {
    const lines = render(broken, { width: 80 });
    expect(lines[0]).toBe('ctr-doctor 0.1.0: chroot /tmp/ctr-doctor-demo-Xy12Ab/root (pid 26335)');
    expect(lines[1]).toMatch(/^session: cloudsdk \(uid 1000, from --user\), environment from process/);
    const text = lines.join('\n');
    expect(text).toMatch(/^PASS 5 passed: net\.ping, dns\.stub, session\.user, mounts\.leftover,/m);
    expect(text).toContain('SKIP 2 skipped, not a schroot guest (chroot): schroot.sessions, schroot.config');
    expect(text).toContain('Problems (4)');
    // A pass is never listed as a problem, and no check appears twice.
    for (const r of broken.results) expect(occurrences(flat(lines), `${r.id}:`), r.id).toBeLessThanOrEqual(1);
    const resolv = text.slice(text.indexOf('FAIL dns.resolv-conf'), text.indexOf('FAIL x11.display'));
    expect(resolv.indexOf('fix (safe)')).toBeLessThan(resolv.indexOf('fix (manual)'));
    // A command continued with a backslash-newline reads back as one line.
    expect(resolv.replace(/\\\n\s*/g, '')).toContain(
      '$ ctr-doctor fix chroot:/tmp/ctr-doctor-demo-Xy12Ab/root --only dns.write-resolv-conf',
    );
    expect(resolv).toContain("cp -L /etc/resolv.conf '/tmp/ctr-doctor-demo-Xy12Ab/root/etc/resolv.conf'");
    expect(text).toMatch(/^5 passed, 0 warnings, 4 failed, 4 skipped in \d+\.\d\d s$/m);
    expect(flat(lines)).toContain('Run `ctr-doctor fix chroot:/tmp/ctr-doctor-demo-Xy12Ab/root` to apply the 2 safe fixes');
  });

  test('healthy guest: no Problems section and no fix hint', () => {
    const text = render(healthy, {}).join('\n');
    expect(text).not.toContain('Problems');
    expect(text).not.toContain('ctr-doctor fix');
    expect(text).toMatch(/^PASS 7 passed: /m);
  });

  test('no fix hint when only manual fixes remain, or inside fix', () => {
    const manualOnly: Report = {
      ...broken,
      results: broken.results.map((r) => ({ ...r, fixes: r.fixes.filter((f) => f.safety === 'manual') })),
    };
    expect(render(manualOnly, {}).join('\n')).not.toContain('Run `ctr-doctor fix');
    expect(render(broken, { fixHint: false }).join('\n')).not.toContain('Run `ctr-doctor fix');
  });

  test('--verbose: every check on its own line, problems still only once', () => {
    const lines = render(broken, { verbose: true, width: 100 });
    for (const r of broken.results.filter((x) => x.status === 'pass' || x.status === 'skip')) {
      expect(
        lines.some((l) => l.startsWith(`${r.status.toUpperCase()} ${r.id}: `)),
        r.id,
      ).toBe(true);
    }
    expect(occurrences(flat(lines), 'dns.resolv-conf: /etc/resolv.conf is empty')).toBe(1);
  });

  test('identical skip reasons fold into one line with the reason ("no desktop session" is one line)', () => {
    const reason = 'no desktop session: nobody is logged in to the guest';
    const desktop = ['x11.display', 'x11.socket', 'audio.pulse', 'dconf.runtime-dir', 'dbus.session'];
    const report: Report = {
      ...healthy,
      summary: { ...healthy.summary, skip: healthy.summary.skip + desktop.length },
      results: [
        ...healthy.results,
        ...desktop.map((id) => ({
          id,
          group: id.split('.')[0]!,
          title: id,
          status: 'skip' as const,
          summary: reason,
          durationMs: 0,
          findings: [],
          fixes: [],
        })),
      ],
    };
    const lines = render(report, { width: 100 });
    expect(lines.filter((l) => l.includes(reason))).toEqual([`SKIP 5 skipped, ${reason}: x11.display, x11.socket,`]);
    expect(lines.filter((l) => l.includes('x11.display'))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('FAIL');
  });

  test('no desktop session: the header gives the reason once, the desktop checks fold into one skip line', () => {
    const reason =
      'no desktop session runs in chroot /srv/g: no process of a regular user (uid 1000–60000 with a login shell) and no such user in passwd; name the desktop user with --user';
    const desktop = ['x11.display', 'x11.socket', 'audio.pulse', 'dconf.runtime-dir', 'dbus.session'];
    const report: Report = {
      ...healthy,
      summary: { ...healthy.summary, skip: healthy.summary.skip + desktop.length },
      results: [
        ...healthy.results,
        ...desktop.map((id) => ({
          id,
          group: id.split('.')[0]!,
          title: id,
          status: 'skip' as const,
          summary: reason,
          durationMs: 0,
          findings: [],
          fixes: [],
        })),
      ],
    };
    const lines = renderReport(report, {
      width: 80,
      color: false,
      verbose: false,
      session: { user: 'u', uid: 1000, chosenBy: 'the default', envSource: 'the invoking shell', noSession: reason },
    });
    const text = flat(lines);
    expect(occurrences(text, reason)).toBe(1);
    expect(text).toContain(`session: none (${reason})`);
    expect(text).toContain(
      'SKIP 5 skipped, no desktop session (see above): x11.display, x11.socket, audio.pulse, dconf.runtime-dir, dbus.session',
    );
  });

  test('a terminal gets coloured symbols, plain output ASCII status words', () => {
    const coloured = render(broken, { color: true }).join('\n');
    expect(coloured).toContain('\u001b[31m✖\u001b[0m');
    expect(coloured).toContain('\u001b[32m✔\u001b[0m');
    const plain = render(broken, { color: false }).join('\n');
    expect(plain).not.toMatch(/\u001b|✔|✖/);
    expect(plain).toMatch(/^FAIL /m);
  });

  test('finding codes link to their docs/checks.md anchors on a colour terminal', () => {
    const text = render(broken, { color: true, docsUrl: 'file:///usr/lib/ctr-doctor/docs/checks.md' }).join('\n');
    expect(text).toContain(
      '\u001b]8;;file:///usr/lib/ctr-doctor/docs/checks.md#dns.resolv-conf.resolv-conf-empty\u0007resolv-conf-empty\u001b]8;;\u0007',
    );
    expect(render(broken, { color: false, docsUrl: 'file:///x' }).join('\n')).toContain('docs: ctr-doctor explain resolv-conf-empty');
  });
});

describe('golden reports (reviewed by eye)', () => {
  // Why: the demo as a new user sees it in an 80-column terminal piped to a log; each problem once, its fixes and commands.
  test('broken demo guest, 80 columns, plain', async () => {
    await expect(render(broken, { width: 80 }).join('\n') + '\n').toMatchFileSnapshot('golden/broken-80.txt');
  });
  // Why: the narrowest width we promise; long commands continue with backslash-newlines that paste as one command.
  test('broken demo guest, 60 columns, plain', async () => {
    await expect(render(broken, { width: 60 }).join('\n') + '\n').toMatchFileSnapshot('golden/broken-60.txt');
  });
  // Why: --verbose gives every check a line and every finding as evidence, still without repeating a problem.
  test('broken demo guest, 100 columns, verbose', async () => {
    await expect(render(broken, { width: 100, verbose: true }).join('\n') + '\n').toMatchFileSnapshot('golden/broken-100-verbose.txt');
  });
  // Why: a healthy guest is three short lines and a closing line, with no fix hint.
  test('healthy guest, 80 columns, plain', async () => {
    await expect(render(healthy, { width: 80 }).join('\n') + '\n').toMatchFileSnapshot('golden/healthy-80.txt');
  });
});
