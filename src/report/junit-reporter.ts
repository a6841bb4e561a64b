import type { Reporter, ReportStreams } from './reporter.js';
import type { Report } from '../core/types.js';

function xml(s: string): string {
  return (
    s
      .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
      // XML 1.0 forbids most control characters, U+FFFE, U+FFFF and lone surrogates, which hostile
      // guest files and directory names could smuggle in; a validating reader rejects the whole file.
      .replace(
        /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
        '?',
      )
  );
}

/** One JUnit testsuite per report, one testcase per check. */
export function junitXml(reports: Report[]): string {
  const suites = reports.map((report) => {
    const s = report.summary;
    const cases = report.results.map((r) => {
      const body = r.findings.map((f) => `[${f.severity}] ${f.code}: ${f.message}`).join('\n');
      const inner =
        r.status === 'fail'
          ? `<failure message="${xml(r.summary)}" type="${xml(r.id)}">${xml(body)}</failure>`
          : r.status === 'error'
            ? `<error message="${xml(r.summary)}">${xml(body)}</error>`
            : r.status === 'skip'
              ? `<skipped message="${xml(r.summary)}"/>`
              : r.status === 'warn'
                ? `<system-out>${xml(`WARN: ${r.summary}\n${body}`)}</system-out>`
                : '';
      return `    <testcase classname="ctr-doctor.${xml(r.group)}" name="${xml(r.id)}" time="${(r.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
    });
    return `  <testsuite name="ctr-doctor ${xml(report.target.kind)} ${xml(report.target.name)}" tests="${report.results.length}" failures="${s.fail}" errors="${s.error}" skipped="${s.skip}" time="${(report.durationMs / 1000).toFixed(3)}" timestamp="${report.startedAt}"${report.host ? ` hostname="${xml(report.host.name)}"` : ''}>\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ctr-doctor">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** Writes the JUnit XML of one report to stdout. */
export function junitReporter(streams: ReportStreams): Reporter {
  return { end: (report) => void streams.out.write(junitXml([report])) };
}
