import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { junitXml } from '../../../src/report/junit-reporter.js';
import { prometheusText } from '../../../src/report/prometheus-reporter.js';
import { summaryLine, textReporter } from '../../../src/report/text-reporter.js';
import { ttyReporter } from '../../../src/report/tty-reporter.js';
import { applicableFixes, fixCommand } from '../../../src/cli/fix-command.js';
import type { CheckResult, Report, Status } from '../../../src/core/types.js';

const HOSTILE = 'a<b>&"c\' ]]> <!-- \u0001\u0007\u001b[31m \\ \n x="y" \ud83d\ude00';

function result(id: string, status: Status, summary = `${id} ${status}`): CheckResult {
  return {
    id,
    group: id.split('.')[0]!,
    title: id,
    status,
    summary,
    durationMs: 12,
    findings:
      status === 'pass' ? [] : [{ code: 'some-code', severity: status === 'warn' ? 'warn' : 'fail', message: summary, evidence: {} }],
    fixes:
      status === 'fail'
        ? [
            {
              id: 'fix-it',
              title: 'Fix it',
              safety: 'safe',
              steps: [{ kind: 'mkdir', where: 'guest', path: '/run/user/1000', description: 'make it' }],
            },
          ]
        : [],
  };
}

function report(name: string, results: CheckResult[]): Report {
  const summary = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
  for (const r of results) summary[r.status]++;
  return {
    schemaVersion: 1,
    tool: { name: 'ctr-doctor', version: '9.9.9' },
    target: { kind: 'chroot', name, root: name, pid: null },
    startedAt: '2024-01-02T03:04:05.000Z',
    durationMs: 1234,
    success: summary.fail === 0,
    summary,
    results,
  };
}

/** A strict little XML 1.0 well-formedness check: balanced tags, quoted attributes, known entities, legal characters. */
function assertWellFormedXml(xml: string): void {
  expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<\/?([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < body.length && (m = token.exec(body))) {
    pos = token.lastIndex;
    if (m[5]) throw new Error(`stray "<" at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    const text = m[4] ?? m[2] ?? '';
    for (const amp of text.matchAll(/&([^;]*);?/g)) {
      if (!/^&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);$/i.test(amp[0])) throw new Error(`bad entity ${amp[0]}`);
    }
    if (m[4] !== undefined) {
      if (stack.length === 0 && m[4].trim()) throw new Error('text outside the root element');
      continue;
    }
    if (m[0].startsWith('</')) {
      expect(stack.pop(), `closing ${m[1]}`).toBe(m[1]);
    } else if (!m[3]) {
      stack.push(m[1]!);
    }
  }
  expect(pos, 'the whole document was tokenised').toBe(body.length);
  expect(stack).toEqual([]);
}

describe('JUnit reporter', () => {
  const reports = [
    report(`/srv/${HOSTILE}`, [
      result('dns.a', 'pass'),
      result('dns.b', 'fail', HOSTILE),
      result('x11.c', 'warn', HOSTILE),
      result('x11.d', 'skip', HOSTILE),
      result('mounts.e', 'error', HOSTILE),
    ]),
    report('/srv/two', [result('dns.a', 'pass')]),
  ];
  const xml = junitXml(reports);

  test('is well-formed XML even with hostile strings', () => {
    assertWellFormedXml(xml);
  });

  test('one testsuite per report, one testcase per check, with the right counts and elements', () => {
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml).toMatch(/<testsuite [^>]*tests="5" failures="1" errors="1" skipped="1"/);
    expect(xml).toMatch(/<testcase classname="ctr-doctor.dns" name="dns.b" time="0.012"><failure /);
    expect(xml).toMatch(/name="mounts.e"[^>]*><error /);
    expect(xml).toMatch(/name="x11.d"[^>]*><skipped /);
    expect(xml).toMatch(/name="x11.c"[^>]*><system-out>WARN: /);
    expect(xml).toContain('&lt;b&gt;&amp;&quot;c&apos;');
  });

  test('drops the characters XML 1.0 forbids (U+FFFE, U+FFFF, lone surrogates) and keeps real pairs', () => {
    const odd = junitXml([report('/srv/\ufffe\uffff\ud800x\udc00 \ud83d\ude00', [result('dns.a', 'fail', 'tail \ud83d')])]);
    expect(odd).not.toMatch(/[\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(odd).toContain('/srv/???x? \ud83d\ude00');
    assertWellFormedXml(odd);
  });

  test("names the host a report was made on as the testsuite's hostname", () => {
    expect(junitXml([{ ...report('/srv/a', [result('dns.a', 'pass')]), host: { name: 'build<7>' } }])).toMatch(
      /<testsuite [^>]*hostname="build&lt;7&gt;">/,
    );
    expect(junitXml([report('/srv/a', [result('dns.a', 'pass')])])).not.toContain('hostname=');
  });
});

describe('Prometheus reporter (node_exporter textfile)', () => {
  const text = prometheusText([
    report(`/srv/${HOSTILE}`, [
      result('dns.a', 'pass'),
      result('dns.b', 'fail'),
      result('x11.c', 'warn'),
      result('x11.d', 'skip'),
      result('mounts.e', 'error'),
    ]),
    report('/srv/two', [result('dns.a', 'pass')]),
  ]);
  const lines = text.trimEnd().split('\n');
  const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (-?\d+(?:\.\d+)?)$/;

  test('every line is a HELP, a TYPE or a sample that parses, and ends with a newline', () => {
    expect(text.endsWith('\n')).toBe(true);
    for (const line of lines) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      expect(line, line).toMatch(SAMPLE);
    }
  });

  test('each metric is declared once before its samples, as a gauge', () => {
    const types = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    for (const l of lines.filter((x) => !x.startsWith('#'))) {
      const name = l.slice(0, l.indexOf('{'));
      const typeAt = lines.indexOf(`# TYPE ${name} gauge`);
      expect(typeAt, name).toBeGreaterThanOrEqual(0);
      expect(typeAt).toBeLessThan(lines.indexOf(l));
    }
  });

  test('values follow the documented mapping; labels are escaped', () => {
    const value = (check: string, target = '/srv/two') =>
      lines
        .find((l) => l.includes(`check="${check}"`) && (target === '*' || l.includes(`target="${target}"`)))
        ?.split(' ')
        .pop();
    expect(value('dns.a')).toBe('0');
    expect(value('dns.b', '*')).toBe('2');
    expect(value('x11.c', '*')).toBe('1');
    expect(value('x11.d', '*')).toBe('-1');
    expect(value('mounts.e', '*')).toBe('3');
    expect(lines.filter((l) => l.startsWith('ctr_doctor_run_success{'))).toHaveLength(2);
    expect(text).toContain('\\n x=\\"y\\"');
  });
});

describe('text reporter', () => {
  test('the report shape: header, folded passes, the problem once with its fix command, the closing line and the fix hint', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const r = report('/srv/g', [
      result('dns.a', 'pass'),
      result('dns.b', 'fail', 'resolv.conf is missing'),
      result('x11.d', 'skip', 'no DISPLAY'),
    ]);
    const reporter = textReporter({ out, err: new PassThrough(), color: false, verbose: false, width: 100 });
    reporter.start!({ target: r.target, checks: [], fixCommand, applicableFixes });
    await reporter.end!(r);
    expect(text.split('\n')[0]).toBe('ctr-doctor 9.9.9: chroot /srv/g');
    expect(text).toContain('PASS 1 passed: dns.a');
    expect(text).toContain('SKIP 1 skipped: x11.d');
    expect(text.match(/resolv\.conf is missing/g)).toHaveLength(1);
    expect(text).toContain('FAIL dns.b: resolv.conf is missing');
    expect(text).toContain('$ ctr-doctor fix chroot:/srv/g --only fix-it');
    expect(text).toMatch(/^1 passed, 0 warnings, 1 failed, 1 skipped in 1\.23 s$/m);
    expect(text).toContain('Run `ctr-doctor fix chroot:/srv/g` to apply the 1 safe fix');
    expect(text).not.toMatch(/\u001b\[/);
    expect(summaryLine(r)).toBe('chroot /srv/g: 1 passed, 0 warnings, 1 failed, 1 skipped, 0 could not run (1234 ms)');
  });
});

describe('tty reporter off a terminal', () => {
  test('prints exactly the report the text reporter prints: no live view, nothing twice', async () => {
    const r = report('/srv/g', [result('dns.a', 'pass'), result('dns.b', 'fail', 'resolv.conf is missing')]);
    const render = async (make: typeof textReporter) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => {
        text += d.toString();
      });
      const reporter = make({ out, err: new PassThrough(), color: false, verbose: false, width: 80 });
      reporter.start!({ target: r.target, checks: [], fixCommand, applicableFixes });
      for (const x of r.results) reporter.checkEnd?.(x);
      await reporter.end!(r);
      return text;
    };
    const tty = await render(ttyReporter);
    expect(tty).toBe(await render(textReporter));
    expect(tty.match(/resolv\.conf is missing/g)).toHaveLength(1);
  });
});
