import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { builtinChecks } from '../../../src/checks/index.js';
import { runExplainCommand } from '../../../src/cli/commands/explain.js';
import { main } from '../../../src/cli/main.js';
import { resolveFixSelection } from '../../../src/cli/diagnose.js';
import { explainLines, lookUp } from '../../../src/report/explain-text.js';
import { checksMarkdown } from '../../../src/docs/checks-markdown.js';
import { displayWidth } from '../../../src/report/terminal-text.js';
import type { CliIo } from '../../../src/cli/io.js';

function io(width = 80): CliIo & { text: () => string; errors: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => {
    o += d.toString();
  });
  err.on('data', (d: Buffer) => {
    e += d.toString();
  });
  return { out, err, env: {}, isTty: false, stdinIsTty: false, width, color: () => false, text: () => o, errors: () => e };
}

describe('explain', () => {
  test('every finding code, check id and fix id is explained, within the width, naming its docs anchor', () => {
    const md = checksMarkdown(builtinChecks);
    for (const c of builtinChecks) {
      for (const name of [c.id, ...Object.keys(c.findings), ...Object.keys(c.fixDocs ?? {})]) {
        const found = lookUp(builtinChecks, name);
        expect(found, name).not.toBeNull();
        const lines = explainLines(found!, 60, '/usr/share/doc/checks.md');
        for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(60);
        // The link may wrap at 60 columns: read it back joined.
        const anchor = /\/usr\/share\/doc\/checks\.md#([a-z0-9.-]+?)(?=[A-Z]|$)/.exec(
          lines
            .slice(0, 4)
            .map((l) => l.trim())
            .join(''),
        )![1]!;
        expect(md, anchor).toContain(`<a id="${anchor}"></a>`);
      }
    }
  });

  test('a code prints its meaning and its check; one code in two checks prints both', () => {
    const out = io();
    expect(runExplainCommand(builtinChecks, 'resolv-conf-empty', out)).toBe(0);
    expect(out.text()).toContain('resolv-conf-empty (fail), a finding of dns.resolv-conf');
    expect(out.text()).toContain('The file is empty');
    const shared = lookUp(builtinChecks, 'display-remote');
    expect(shared?.kind === 'code' && shared.hits.map((h) => h.check.id)).toEqual(['x11.display', 'x11.socket']);
  });

  test('an unknown name: exit 2, one line on stderr with a hint', async () => {
    const out = io();
    expect(await main(['explain', 'resolv-conf-empyt'], out)).toBe(2);
    expect(out.errors().trim().split('\n')).toHaveLength(1);
    expect(out.errors()).toContain('did you mean `ctr-doctor explain resolv-conf-empty`');
    expect(out.text()).toBe('');
  });
});

describe('fix --only FIX-ID (the command each fix in the report shows)', () => {
  test('a fix id selects the checks that offer it and only that fix', async () => {
    const s = await resolveFixSelection(
      { only: 'dns.write-resolv-conf', timeout: 2000, strict: false, compareHost: false, verbose: false },
      () => {},
    );
    expect(s.checks.map((c) => c.id).sort()).toEqual(['dns.resolv-conf', 'dns.resolve', 'dns.stub']);
    expect([...s.fixIds]).toEqual(['dns.write-resolv-conf']);
    expect(s.wholeChecks.size).toBe(0);
  });

  test('check ids and groups still mean all their fixes; unknown names are a usage error', async () => {
    const s = await resolveFixSelection(
      { only: 'dconf,dns.write-resolv-conf', timeout: 2000, strict: false, compareHost: false, verbose: false },
      () => {},
    );
    expect([...s.wholeChecks]).toEqual(['dconf.runtime-dir']);
    await expect(
      resolveFixSelection({ only: 'no.such', timeout: 2000, strict: false, compareHost: false, verbose: false }, () => {}),
    ).rejects.toThrow(/unknown check id, group or fix id: no.such/);
  });
});

describe('usage errors', () => {
  test("yargs' multi-line messages become one line, with no literal \\n", async () => {
    const out = io();
    expect(await main(['schema', 'bogus'], out)).toBe(2);
    expect(out.errors()).toMatch(/^ctr-doctor: Invalid values: Argument: which, Given: "bogus", Choices: "report", "summary", "fix" \(see/);
    expect(out.errors().trim().split('\n')).toHaveLength(1);
    expect(out.errors()).not.toContain('\\n');
  });
});
