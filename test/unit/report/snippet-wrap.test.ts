/**
 * A command split to fit the terminal must paste as the same command: each case is run through
 * a real /bin/sh, whole and split, and both must give the same words.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { isConfigLine, wrapShellLine, wrapSnippet } from '../../../src/report/snippet-wrap.js';
import { displayWidth } from '../../../src/report/terminal-text.js';

/** The words the shell makes of a command line (printed one per line by printf). */
function shellWords(command: string): string {
  return execFileSync('/bin/sh', ['-c', `set -- ${command}\nprintf '[%s]\\n' "$@"`], { encoding: 'utf8' });
}

const COMMANDS = [
  "mkdir -p '/tmp/ctr-doctor-demo-Xy12Ab/root/run/user/1000/pulse' && mount --bind /run/user/1000/pulse '/tmp/ctr-doctor-demo-Xy12Ab/root/run/user/1000/pulse'",
  "cp -L /etc/resolv.conf '/srv/a dir with spaces and a quote '\\''here'\\'' and more words to wrap/etc/resolv.conf'",
  'nsenter -t LEADER_PID -a -S 1000 -G 1000 env -i HOME=/home/u USER=u DISPLAY="$DISPLAY" bash -l',
  'ctr-doctor fix chroot:/srv/averyveryveryveryveryveryveryveryveryverylongdirectorynamewithoutspaces/root --only dns.write-resolv-conf',
  'sudo -E "PATH=$PATH" -u someone COMMAND\\ with\\ escaped\\ spaces\\ that\\ go\\ on\\ and\\ on\\ and\\ on\\ for\\ a\\ while',
];

describe('wrapShellLine', () => {
  test.each([30, 40, 60, 80])('at %i columns every piece fits and the shell reads the same words', (width) => {
    for (const command of COMMANDS) {
      const lines = wrapShellLine(command, width, '    ', '      ');
      for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(width);
      // Pasted as shown, indentation included: backslash-newline joins the pieces.
      const pasted = lines
        .map((l) => l.replace(/^ +/, (m) => m))
        .join('\n')
        .trim();
      expect(shellWords(pasted), `${command}\n--- as\n${lines.join('\n')}`).toBe(shellWords(command));
      if (displayWidth(command) + 4 > width) expect(lines.length).toBeGreaterThan(1);
    }
  });

  test('a line that fits is left alone', () => {
    expect(wrapShellLine('export DISPLAY=:0', 80, '  ')).toEqual(['  export DISPLAY=:0']);
  });
});

describe('wrapSnippet', () => {
  test('config lines are recognised and never given backslashes', () => {
    for (const line of [
      '[Files]',
      'preserve-environment=true',
      '/run/user/1000/pulse /run/user/1000/pulse none rw,bind 0 0',
      'hosts: files dns',
      '/etc/resolv.conf',
    ]) {
      expect(isConfigLine(line), line).toBe(true);
    }
    for (const line of COMMANDS) expect(isConfigLine(line), line).toBe(false);
    const long = '/run/systemd/resolve/resolv.conf  /etc/resolv.conf  none  ro,bind  0  0';
    const { lines, brokenConfig } = wrapSnippet(long, 40, '  ');
    expect(brokenConfig).toBe(true);
    expect(lines.join('')).not.toContain('\\');
    expect(lines.map((l) => l.slice(2)).join('')).toBe(long);
  });
});
