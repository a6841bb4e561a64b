import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, test } from 'vitest';
import { readReportFiles } from '../../../src/cli/report-files.js';
import { readFleetInput } from '../../../src/report/fleet-input.js';
import { hostFromFileName, summarizeFleet, type FleetFile } from '../../../src/report/fleet-summary.js';
import { fleetText } from '../../../src/report/fleet-table.js';
import { summarySchema } from '../../../src/report/summary-schema.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/reports/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(summarySchema);

/** The fixtures whose names start with `build-`, as read files. */
function good(...names: string[]): FleetFile[] {
  return names.map((n) => ({ file: `REPORTS/${n}`, text: fixture(n) }));
}

describe('readFleetInput: a check report, a check --all array, a fix result, and what is none of these', () => {
  test.each([
    ['build-1.json', 1, null, 'check'],
    ['build-2.json', 2, 'build-2.example.org', 'check'],
    ['build-4.json', 0, null, 'check'],
    ['build-5.json', 1, 'build-5', 'fix'],
  ])('%s: %i reports, host %s, from %s', (name, n, host, source) => {
    const input = readFleetInput(fixture(name));
    expect(input.problems).toEqual([]);
    expect(input.reports).toHaveLength(n);
    for (const r of input.reports) expect(r).toMatchObject({ hostName: host, source });
    expect(input.emptyArray).toBe(n === 0);
  });

  test('fix --json: the checks run again after the fix replace the first diagnosis', () => {
    const [r] = readFleetInput(fixture('build-5.json')).reports;
    expect(r!.results).toEqual([
      { id: 'net.ping', status: 'pass' },
      { id: 'dns.stub', status: 'pass' },
      { id: 'session.user', status: 'warn' },
    ]);
  });

  test.each([
    ['bad-truncated.json', /^not JSON \(/],
    ['bad-not-report.json', /^not a ctr-doctor report: schemaVersion is missing, not 1$/],
    ['bad-newer.json', /^not a ctr-doctor report: schemaVersion is 2, not 1$/],
    ['bad-item.json', /^\[1\]: not a ctr-doctor report: results\[0\] has no id or no known status$/],
  ])('%s is named in one line', (name, message) => {
    const input = readFleetInput(fixture(name));
    expect(input.problems).toEqual([expect.stringMatching(message)]);
    expect(input.problems[0]).not.toContain('\n');
  });

  test('a bad item in an array spoils only itself', () => {
    expect(readFleetInput(fixture('bad-item.json')).reports.map((r) => r.guest)).toEqual(['/srv/ok']);
  });

  test.each([
    ['null', /not a JSON object/],
    ['"text"', /not a JSON object/],
    ['{"schemaVersion":1,"tool":{"name":"other"},"target":{},"results":[]}', /tool.name/],
    ['{"schemaVersion":1,"tool":{"name":"ctr-doctor"},"target":{"kind":"chroot"},"results":[]}', /target.kind or target.name/],
    ['{"schemaVersion":1,"tool":{"name":"ctr-doctor"},"target":{"kind":"chroot","name":"x"},"results":{}}', /results is not an array/],
    ['{"schemaVersion":1,"before":{},"plan":[]}', /schemaVersion is missing/],
    ['', /not JSON/],
  ])('%s is not a report', (text, message) => {
    expect(readFleetInput(text).problems).toEqual([expect.stringMatching(message)]);
  });
});

describe('summarizeFleet', () => {
  const all = good('build-1.json', 'build-2.json', 'build-3.json', 'build-4.json', 'build-5.json');
  const s = summarizeFleet(all);

  test("the host is the report's host.name, else the file's name", () => {
    expect(s.rows.map((r) => [r.host, r.hostFrom, r.guest])).toEqual([
      ['build-1', 'file', '/srv/bookworm'],
      ['build-2.example.org', 'report', 'bookworm-1'],
      ['build-2.example.org', 'report', 'trixie'],
      ['build-5', 'report', 'web'],
      ['build-3', 'report', '/srv/sid'],
    ]);
    expect(s.emptyHosts).toEqual([{ host: 'build-4', hostFrom: 'file', file: 'REPORTS/build-4.json' }]);
    expect(hostFromFileName('/a/b/web-1.JSON')).toBe('web-1');
  });

  test("hosts with failures first, then warnings, then clean; each host's worst guest first", () => {
    const shuffled = summarizeFleet([...all].reverse());
    expect(shuffled.rows.map((r) => `${r.host} ${r.guest}`)).toEqual(s.rows.map((r) => `${r.host} ${r.guest}`));
    // A host whose check could not run comes before a clean one, whatever their names.
    const erroring = { ...(readFleet('build-2.json')[1] as object), host: { name: 'zz-erroring' } };
    const errOnly = summarizeFleet([...good('build-3.json'), { file: 'e.json', text: JSON.stringify(erroring) }]);
    expect(errOnly.rows.map((r) => r.host)).toEqual(['zz-erroring', 'build-3']);
  });

  test('counts per guest, the failing and erroring ids, totals', () => {
    expect(s.rows[1]).toMatchObject({
      counts: { pass: 1, warn: 0, fail: 2, skip: 0, error: 0 },
      failing: ['dns.stub', 'mounts.leftover'],
      erroring: [],
    });
    expect(s.rows[2]).toMatchObject({ failing: [], erroring: ['audio.pulse'] });
    expect(s.totals).toEqual({ hosts: 5, hostsFailing: 2, guests: 5, files: 5, pass: 9, warn: 2, fail: 3, skip: 0, error: 1 });
  });

  test('the second table: each failing id with the hosts and guests it hits, most hosts first', () => {
    expect(s.checks).toEqual([
      { id: 'dns.stub', status: 'fail', hosts: 2, guests: 2, hostNames: ['build-1', 'build-2.example.org'] },
      { id: 'mounts.leftover', status: 'fail', hosts: 1, guests: 1, hostNames: ['build-2.example.org'] },
      { id: 'audio.pulse', status: 'error', hosts: 1, guests: 1, hostNames: ['build-2.example.org'] },
    ]);
  });

  test.each([
    ['a fail anywhere', ['build-1.json', 'build-3.json'], 1],
    ['warnings but no fail (a fix fixed the fail)', ['build-3.json', 'build-5.json'], 0],
    ['only clean and empty hosts', ['build-3.json', 'build-4.json'], 0],
  ])('exit code: %s', (_what, names, code) => {
    expect(summarizeFleet(good(...names)).exitCode).toBe(code);
  });

  test('exit code 3 when a check could not run and none failed; 2 for no input at all', () => {
    const trixie = readFleet('build-2.json')[1];
    expect(summarizeFleet([{ file: 'x.json', text: JSON.stringify(trixie) }]).exitCode).toBe(3);
    expect(summarizeFleet([]).exitCode).toBe(2);
  });

  test('an unreadable input makes it 2, is named, and the others are still summarised', () => {
    const mixed = summarizeFleet([
      ...good('build-1.json', 'bad-truncated.json', 'bad-item.json'),
      { file: 'REPORTS/gone.json', error: 'no such file or directory' },
    ]);
    expect(mixed.exitCode).toBe(2);
    expect(mixed.unreadable.map((u) => u.file)).toEqual(['REPORTS/bad-truncated.json', 'REPORTS/bad-item.json', 'REPORTS/gone.json']);
    expect(mixed.rows.map((r) => r.guest)).toEqual(['/srv/bookworm', '/srv/ok']);
    expect(mixed.totals.files).toBe(3);
  });

  test('--json matches `ctr-doctor schema summary`', () => {
    for (const summary of [s, summarizeFleet([]), summarizeFleet(good('hostile.json', 'bad-item.json'))]) {
      expect(validate(summary), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(validate({ ...s, rows: [{ ...s.rows[0], counts: {} }] })).toBe(false);
  });
});

function readFleet(name: string): unknown[] {
  return JSON.parse(fixture(name)) as unknown[];
}

describe('fleetText', () => {
  const s = summarizeFleet(good('build-1.json', 'build-2.json', 'build-3.json', 'build-4.json', 'build-5.json', 'hostile.json'));

  test('no line is wider than the width asked for, from 20 to 200 columns', () => {
    for (let width = 20; width <= 200; width += 3) {
      const lines = fleetText(s, width, false).split('\n');
      expect(Math.max(...lines.map((l) => [...l].length)), `width ${width}`).toBeLessThanOrEqual(width);
    }
  });

  test('a table with host, guest, kind, the four counts and the failing ids; the checks table after it', () => {
    const text = fleetText(s, 160, false);
    expect(text).toMatch(/\| host\s+\| guest\s+\| kind\s+\| pass \| warn \| fail \| error \| failing\s+\|/);
    expect(text).toMatch(
      /\| build-2\.example\.org\s+\| bookworm-1\s+\| schroot\s+\| 1\s+\| 0\s+\| 2\s+\| 0\s+\| dns\.stub, mounts\.leftover\s+\|/,
    );
    expect(text).toMatch(/\| build-4\s+\| \(no guests found\)/);
    expect(text).toMatch(/\| dns\.stub\s+\| fail\s+\| 3\s+\| 3\s+\|/);
    expect(text.indexOf('build-1')).toBeLessThan(text.indexOf('build-3'));
    expect(text.split('\n')[0]).toBe('6 hosts, 6 guests from 6 files: 3 hosts have failures; 4 failed, 2 warnings, 1 could not run.');
  });

  test('guest and host names from reports are escaped: no control character reaches the terminal', () => {
    for (const width of [20, 80, 160]) {
      const text = fleetText(s, width, false);
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    }
    expect(fleetText(s, 200, false)).toContain('/srv/\\x1b]0;owned\\x07\\x1b[2J\\u202enuf');
    // A newline in a name is shown as \n, not taken for a line break inside its cell.
    expect(fleetText(s, 200, false)).toContain('evil\\x1b[31m\\nhost');
  });

  test('box borders on a colour terminal, ASCII ones elsewhere; never a colour code in a cell', () => {
    expect(fleetText(s, 120, false)).not.toMatch(/[│┌\u001b]/);
    expect(fleetText(s, 120, true)).toContain('│ host');
  });

  test('too narrow for the columns: one column, a guest per cell, still within the width', () => {
    const text = fleetText(s, 30, false);
    expect(text).toMatch(/\| build-1: \/srv\/bookworm/);
    expect(text).toMatch(/failing: dns\.stub/);
  });
});

describe('readReportFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctd-summary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a directory is its *.json files in name order; other files and subdirectories are left alone', () => {
    const files = readReportFiles([FIXTURES]);
    expect(files.map((f) => f.file.split('/').pop())).toEqual([
      'bad-item.json',
      'bad-newer.json',
      'bad-not-report.json',
      'bad-truncated.json',
      'build-1.json',
      'build-2.json',
      'build-3.json',
      'build-4.json',
      'build-5.json',
      'hostile.json',
    ]);
    expect(files.every((f) => 'text' in f)).toBe(true);
  });

  test('a missing path, an empty directory and a directory named report are each one error entry', () => {
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'odd'));
    mkdirSync(join(dir, 'odd', 'sub.json'));
    writeFileSync(join(dir, 'odd', 'real.json'), '[]');
    const files = readReportFiles([join(dir, 'missing.json'), join(dir, 'empty'), join(dir, 'odd')]);
    expect(files).toEqual([
      { file: join(dir, 'missing.json'), error: 'no such file or directory' },
      { file: join(dir, 'empty'), error: 'no report (*.json) in this directory' },
      { file: join(dir, 'odd', 'real.json'), text: '[]' },
    ]);
  });
});
