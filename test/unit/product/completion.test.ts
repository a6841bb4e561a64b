import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { completeWord, completionScript } from '../../../src/cli/commands/completion.js';

const NAMES = ['dns', 'dns.resolv-conf', 'dns.resolve', 'x11', 'x11.display'];
const words = (line: string) => line.split(' ');

describe('completeWord', () => {
  test.each([
    ['ctr-doctor check --only ', NAMES],
    ['ctr-doctor --skip d', NAMES],
    ['ctr-doctor --only dns.resolv-conf,', ['dns', 'dns.resolve', 'x11', 'x11.display'].map((n) => `dns.resolv-conf,${n}`)],
    ['ctr-doctor --only=x', NAMES.map((n) => `--only=${n}`)],
    ['ctr-doctor --format ', ['tty', 'text', 'json', 'junit', 'prometheus']],
    ['ctr-doctor completion ', ['bash', 'zsh']],
  ])('%j → %j', (line, expected) => {
    expect(completeWord({ words: words(line), checkNames: NAMES, zsh: false })).toEqual({ words: expected, withDefaults: false });
  });

  test('the TARGET gets its prefixes; with no command yet, yargs adds the commands', () => {
    expect(completeWord({ words: words('ctr-doctor '), checkNames: NAMES, zsh: false })).toEqual({
      words: expect.arrayContaining(['chroot:', 'nspawn:', 'pid:', 'podman:', 'docker:', 'self']),
      withDefaults: true,
    });
    expect(completeWord({ words: words('ctr-doctor check --strict '), checkNames: NAMES, zsh: false })?.words).toContain('session:');
    expect(completeWord({ words: words('ctr-doctor fix '), checkNames: NAMES, zsh: false })?.withDefaults).toBe(false);
  });

  test.each([
    'ctr-doctor check chroot:/x ',
    'ctr-doctor --user ',
    'ctr-doctor --',
    'ctr-doctor list ',
    'ctr-doctor check --timeout 5 pid:1 ',
  ])('%j is left to yargs', (line) => {
    expect(completeWord({ words: words(line), checkNames: NAMES, zsh: false })).toBeNull();
  });

  test('explain is offered finding codes, check ids and fix ids', () => {
    const explainNames = ['dns.resolv-conf', 'resolv-conf-empty', 'dns.write-resolv-conf'];
    expect(completeWord({ words: words('ctr-doctor explain '), checkNames: NAMES, zsh: false, explainNames })).toEqual({
      words: explainNames,
      withDefaults: false,
    });
    expect(completeWord({ words: words('ctr-doctor explain res'), checkNames: NAMES, zsh: false, explainNames })?.words).toContain(
      'resolv-conf-empty',
    );
  });

  test('zsh gets colons escaped (it reads word:description)', () => {
    expect(completeWord({ words: words('ctr-doctor check '), checkNames: NAMES, zsh: true })?.words).toContain('chroot\\:');
  });

  test('scripts: bash by default, zsh by name or $SHELL; anything else is a usage error', () => {
    expect(completionScript(undefined, {})).toContain('complete -o bashdefault -o default -F _ctr_doctor_completions ctr-doctor');
    expect(completionScript(undefined, { SHELL: '/usr/bin/zsh' })).toMatch(/^#compdef ctr-doctor/);
    expect(completionScript('zsh', { SHELL: '/bin/bash' })).toMatch(/^#compdef ctr-doctor/);
    expect(() => completionScript('fish', {})).toThrow(/no completion for shell "fish"/);
  });
});

// The real thing: bash sources the script and completes through the built CLI.
const CLI = new URL('../../../dist/bundle/ctr-doctor.js', import.meta.url).pathname;
const hasBash = spawnSync('bash', ['-c', 'compopt 2>/dev/null; true']).status === 0;
describe.skipIf(!existsSync(CLI) || !hasBash)('bash completion through the built CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctd-completion-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ctr-doctor'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(dir, 'ctr-doctor'), 0o755);

  let script = '';
  function complete(line: string): string[] {
    script ||= execFileSync(join(dir, 'ctr-doctor'), ['completion', 'bash'], { encoding: 'utf8' });
    const program = `${script}\nCOMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}; COMP_WORDBREAKS=$' \\t\\n"\\'><=;|&(:'\n_ctr_doctor_completions\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', program], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } })
      .split('\n')
      .filter(Boolean);
  }

  test('commands, then check ids after --only, then target prefixes with the part after ":"', () => {
    expect(complete('ctr-doctor che')).toEqual(['check', 'checks']);
    expect(complete('ctr-doctor check --only dns.res')).toEqual(['dns.resolv-conf', 'dns.resolve']);
    expect(complete('ctr-doctor check nsp')).toEqual(['nspawn:']);
    expect(complete('ctr-doctor --format j')).toEqual(['json', 'junit']);
    expect(complete('ctr-doctor check --st')).toEqual(['--strict']);
    expect(complete('ctr-doctor explain resolv-conf-em')).toEqual(['resolv-conf-empty']);
    expect(complete('ctr-doctor expl')).toEqual(['explain']);
  }, 60_000);
});
