import path from 'node:path';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { parseKeyFile } from '../../parse/keyfile.js';
import { parseFstab } from '../../parse/fstab.js';
import { effectiveSetupFiles, parseCopyfiles, type SchrootChroot } from '../../parse/schroot-config.js';
import { splitLines } from '../../parse/text-lines.js';
import { configEditFix, type ConfigEdit } from '../../fixes/plans/schroot-plans.js';
import { privateRunFstabLines, privateRunSchrootFix, type RunReplacement } from '../../fixes/plans/mount-plans.js';
import { coupledDirOfBind, runReplacementFor } from '../mounts/coupled-run.js';
import type { Finding, Fix } from '../../core/types.js';

type SetupKey = 'fstab' | 'copyfiles' | 'nssdatabases';

/** Line numbers of a chroot's keys, read again from its file (the parsed record keeps values only). */
async function keyLines(ctx: CheckContext, c: SchrootChroot): Promise<Map<string, { line: number; text: string }>> {
  const text = (await ctx.host.readFile(c.source)) ?? '';
  const group = parseKeyFile(text).groups.find((g) => g.name === c.name);
  const raw = splitLines(text);
  return new Map((group?.entries ?? []).map((e) => [e.key, { line: e.line, text: raw.find((l) => l.line === e.line)?.text ?? `${e.key}=${e.value}` }]));
}

const isFile = async (ctx: CheckContext, p: string): Promise<boolean> => (await ctx.host.stat(p))?.type === 'file';

/** What one chroot's definition gets wrong, with the exact edits. */
interface Problem { finding: Finding; fix?: Fix }

/** Checks `directory=` of a directory (or plain) chroot. */
async function directoryProblems(ctx: CheckContext, c: SchrootChroot, lines: Map<string, { line: number; text: string }>): Promise<Problem[]> {
  if (c.type !== undefined && c.type !== 'directory' && c.type !== 'plain') return [];
  const at = lines.get('directory');
  if (c.directory === undefined) {
    const edit: ConfigEdit = { file: c.source, line: null, old: null, after: c.line, replacement: ['directory=/path/to/the/chroot'], why: `a ${c.type ?? 'plain'} chroot needs a directory` };
    return [{ finding: finding('directory-not-set', 'fail', `schroot chroot ${c.name} (${c.source} line ${c.line}) has no directory= line`, { chroot: c.name, file: c.source, line: c.line }), fix: configEditFix('schroot.set-directory', `Set directory= for ${c.name}`, [edit]) }];
  }
  const info = await ctx.host.stat(c.directory);
  if (info?.type === 'directory') return [];
  const edit: ConfigEdit = { file: c.source, line: at?.line ?? c.line, old: at?.text ?? `directory=${c.directory}`, replacement: ['directory=/path/to/the/chroot'], why: 'point it at the chroot\'s real root directory' };
  return [{
    finding: finding('directory-missing', 'fail',
      `E: 10mount: error: Directory '${c.directory}' does not exist (schroot chroot ${c.name}, ${c.source} line ${at?.line ?? c.line})`,
      { chroot: c.name, directory: c.directory, file: c.source, line: at?.line ?? c.line, text: at?.text ?? null, replacement: edit.replacement[0], exists: info !== null }),
    fix: configEditFix('schroot.fix-directory', `Fix directory= of ${c.name}`, [edit]),
  }];
}

/** schroot's own error when a setup file is missing. */
function missingSetupError(key: SetupKey, file: string): string {
  if (key === 'fstab') return `E: 10mount: error: setup_fstab file '${file}' does not exist`;
  if (key === 'copyfiles') return `E: 20copyfiles: error: copyfiles file '${file}' does not exist`;
  return `nssdatabases file '${file}' does not exist`;
}

/** Checks the fstab, copyfiles and nssdatabases files the chroot uses exist; returns those that do. */
async function setupFileProblems(ctx: CheckContext, c: SchrootChroot, lines: Map<string, { line: number; text: string }>): Promise<{ problems: Problem[]; present: Partial<Record<SetupKey, string>> }> {
  const configDir = ctx.host.schrootPaths.configDir;
  const rel = effectiveSetupFiles(c);
  const problems: Problem[] = [];
  const present: Partial<Record<SetupKey, string>> = {};
  for (const key of ['fstab', 'copyfiles', 'nssdatabases'] as const) {
    const file = path.posix.resolve(configDir, rel[key]);
    if (await isFile(ctx, file)) { present[key] = file; continue; }
    const explicit = lines.get(`setup.${key}`);
    const via = explicit ?? lines.get('profile');
    const fallback = path.posix.resolve(configDir, 'default', key);
    const edits: ConfigEdit[] = [];
    if (await isFile(ctx, fallback)) {
      edits.push(explicit
        ? { file: c.source, line: explicit.line, old: explicit.text, replacement: [`setup.${key}=default/${key}`], why: `${file} does not exist` }
        : { file: c.source, line: null, old: null, after: c.line, replacement: [`setup.${key}=default/${key}`], why: `${file} does not exist` });
    }
    const create: ConfigEdit = { file, line: null, old: null, replacement: key === 'fstab' ? ['# file system  mount point  type  options  dump  pass', '/proc  /proc  none  rw,bind  0  0', '/sys  /sys  none  rw,bind  0  0', '/dev  /dev  none  rw,rbind  0  0'] : [`# ${key}: one entry per line`], why: 'or create the file it names' };
    problems.push({
      finding: finding('setup-file-missing', 'fail',
        `${missingSetupError(key, file)} (schroot chroot ${c.name}, from ${via ? `${c.source} line ${via.line}: ${via.text}` : `the default profile`})`,
        { chroot: c.name, key, file, configFile: c.source, line: via?.line ?? c.line, text: via?.text ?? null, replacement: edits[0]?.replacement[0] ?? null }),
      fix: configEditFix(`schroot.setup-${key}`, `Give ${c.name} a ${key} file that exists`, [...edits, create]),
    });
  }
  return { problems, present };
}

/** Chroots whose copyfiles is the same file, so editing it changes them too. */
function sharingCopyfiles(ctx: CheckContext, all: SchrootChroot[], c: SchrootChroot, file: string): string[] {
  return all.filter((o) => o !== c && path.posix.resolve(ctx.host.schrootPaths.configDir, effectiveSetupFiles(o).copyfiles) === file).map((o) => o.name);
}

/** Checks each copyfiles entry on the host: missing, a symlink, or a dangling symlink. */
async function copyfilesProblems(ctx: CheckContext, all: SchrootChroot[], c: SchrootChroot, file: string): Promise<Problem[]> {
  const text = (await ctx.host.readFile(file)) ?? '';
  const raw = splitLines(text);
  const entries = parseCopyfiles(text);
  const problems: Problem[] = [];
  const shared = sharingCopyfiles(ctx, all, c, file);
  const keep = (drop: number): string[] => raw.filter((l) => l.line !== drop && l.text.trim() !== '').map((l) => l.text);
  for (const e of entries) {
    const lineText = raw.find((l) => l.line === e.line)?.text ?? e.source;
    const info = await ctx.host.lstat(e.source);
    if (info !== null && info.type !== 'symlink') continue;
    const real = info ? await ctx.host.realpath(e.source) : null;
    const code = info === null ? 'copyfiles-source-missing' : real === null ? 'copyfiles-dangling-symlink' : 'copyfiles-symlink';
    const replacement = real !== null ? `${real} ${e.dest}` : null;
    // Edit this chroot's own copyfiles in place; a shared one (the default profile's) is left alone and replaced for this chroot only.
    const ownFile = path.posix.resolve(ctx.host.schrootPaths.configDir, c.name, 'copyfiles');
    const edits: ConfigEdit[] = shared.length === 0
      ? [{ file, line: e.line, old: lineText, replacement: [], why: 'do not copy it (on a systemd host the guest needs its own resolver setup)' }]
      : [
        { file: ownFile, line: null, old: null, replacement: keep(e.line).length > 0 ? keep(e.line) : ['# nothing to copy'], why: `a copyfiles for ${c.name} alone, without line ${e.line} (${file} is shared with ${shared.join(', ')})` },
        { file: c.source, line: null, old: null, after: c.line, replacement: [`setup.copyfiles=${c.name}/copyfiles`], why: `make ${c.name} use it` },
      ];
    const message = code === 'copyfiles-source-missing'
      ? `E: 20copyfiles: error: Not copying nonexistent file: ${e.source} (${file} line ${e.line}); every session of ${c.name} fails to start`
      : code === 'copyfiles-dangling-symlink'
        ? `E: 20copyfiles: error: Not copying nonexistent file: ${e.source}: it is a dangling symlink on the host (${file} line ${e.line}); every session of ${c.name} fails to start`
        : `${e.source} in ${file} line ${e.line} is a symlink on the host (to ${real}): schroot copies a snapshot of what it points to at session start, and the session fails once the target is gone (systemd-resolved's stub on a systemd host)`;
    problems.push({
      finding: finding(code, code === 'copyfiles-symlink' ? 'warn' : 'fail', message,
        { chroot: c.name, file, line: e.line, text: lineText, source: e.source, dest: e.dest, symlinkTarget: real, replacement: shared.length === 0 ? '(delete the line)' : `setup.copyfiles=${c.name}/copyfiles`, copyRealFileInstead: replacement, sharedWith: shared }),
      fix: configEditFix(`schroot.copyfiles-${code === 'copyfiles-symlink' ? 'symlink' : 'missing'}`, `Stop ${c.name} copying ${e.source}`, edits),
    });
  }
  return problems;
}

/** Checks the fstab: unreadable lines, bind sources that do not exist on the host, binds of the host's /run. */
async function fstabProblems(ctx: CheckContext, c: SchrootChroot, file: string, run: RunReplacement): Promise<Problem[]> {
  const text = (await ctx.host.readFile(file)) ?? '';
  const parsed = parseFstab(text);
  const problems: Problem[] = parsed.malformed.map((m) => ({
    finding: finding('fstab-malformed', 'warn', `${file} line ${m.line} is not an fstab line (a path with a space must be written \\040): ${m.text}`, { chroot: c.name, file, line: m.line, text: m.text }),
    fix: configEditFix('schroot.fstab-line', `Fix ${file} line ${m.line}`, [{ file, line: m.line, old: m.text, replacement: [m.text.trim().split(/[ \t]+/).join(' ').replace(/ /g, '\\040')], why: 'fstab fields are separated by spaces; escape spaces inside a path as \\040' }]),
  }));
  const raw = splitLines(text);
  for (const e of parsed.entries) {
    if (!e.options.some((o) => o === 'bind' || o === 'rbind') || !e.spec.startsWith('/')) continue;
    if ((await ctx.host.stat(e.spec)) !== null) continue;
    const lineText = raw.find((l) => l.line === e.line)?.text ?? '';
    problems.push({
      finding: finding('fstab-source-missing', 'fail', `${file} line ${e.line} binds ${e.spec}, which does not exist on the host: every session of ${c.name} fails to mount it`, { chroot: c.name, file, line: e.line, text: lineText, replacement: '(delete the line)' }),
      fix: configEditFix('schroot.fstab-source', `Remove the bind of the missing ${e.spec}`, [{ file, line: e.line, old: lineText, replacement: [], why: `${e.spec} does not exist` }]),
    });
  }
  for (const e of parsed.entries) {
    const coupled = e.options.some((o) => o === 'bind' || o === 'rbind') ? coupledDirOfBind(e.spec, e.options.includes('rbind')) : null;
    if (!coupled) continue;
    const lineText = raw.find((l) => l.line === e.line)?.text ?? '';
    problems.push({
      finding: finding(coupled.severity === 'fail' ? 'fstab-binds-host-run' : 'fstab-binds-host-user-run', coupled.severity,
        `${file} line ${e.line} binds the host's ${e.spec} into every session of ${c.name} (at ${e.file}): ${coupled.why}`,
        { chroot: c.name, file, line: e.line, text: lineText, hostDir: coupled.dir, replacement: privateRunFstabLines(run) }),
      fix: privateRunSchrootFix(file, e.line, lineText, run),
    });
  }
  return problems;
}


export default defineCheck({
  id: 'schroot.config',
  group: 'schroot',
  title: 'schroot chroot configuration',
  description: 'Reads /etc/schroot/schroot.conf and chroot.d/*, then each chroot\'s directory and profile files (setup.fstab, setup.copyfiles, setup.nssdatabases). Every problem names the file, the line and the replacement. A copyfiles entry that is a symlink on the host (a systemd host\'s /etc/resolv.conf) is the classic one.',
  findings: {
    'config-syntax': { severity: 'warn', description: 'A line schroot\'s key-file parser rejects or resolves silently.' },
    'directory-not-set': { severity: 'fail', description: 'A directory chroot has no directory= line.' },
    'directory-missing': { severity: 'fail', description: 'The directory= of a chroot does not exist.' },
    'setup-file-missing': { severity: 'fail', description: 'The fstab, copyfiles or nssdatabases file the chroot uses does not exist.' },
    'copyfiles-symlink': { severity: 'warn', description: 'A copyfiles entry is a symlink on the host (such as /etc/resolv.conf on a systemd host).' },
    'copyfiles-dangling-symlink': { severity: 'fail', description: 'A copyfiles entry is a dangling symlink on the host: sessions fail to start.' },
    'copyfiles-source-missing': { severity: 'fail', description: 'A copyfiles entry does not exist on the host: sessions fail to start.' },
    'fstab-malformed': { severity: 'warn', description: 'An fstab line with the wrong number of fields (often an unescaped space).' },
    'fstab-source-missing': { severity: 'fail', description: 'An fstab bind of a host path that does not exist.' },
    'fstab-binds-host-run': { severity: 'fail', description: 'The profile fstab binds the host\'s /run, /run/systemd or /run/dbus: every session talks to the host\'s init and system bus ("poweroff" in the guest shuts the host down).' },
    'fstab-binds-host-user-run': { severity: 'warn', description: 'The profile fstab binds the host\'s /run/user (or /run/user/UID): sessions use the host session\'s bus and daemons.' },
    'chroots': { severity: 'info', description: 'The chroots checked.' },
  },
  fixDocs: {
    'schroot.copyfiles-symlink': 'Delete the copyfiles line, or give the chroot its own empty copyfiles (setup.copyfiles=NAME/copyfiles).',
    'schroot.setup-fstab': 'Point setup.fstab at a file that exists, or create it.',
    'schroot.fix-directory': 'Point directory= at the chroot\'s root.',
    'mounts.schroot-private-run': 'The profile fstab line that binds the host\'s /run (or /run/systemd, /run/dbus, /run/user) and the tmpfs and pulse/dconf binds to put in its place.',
  },
  appliesTo: (ctx) => (['host', 'self', 'schroot'].includes(ctx.target.kind) ? true : `not a schroot guest (${ctx.target.kind})`),

  async run(ctx) {
    // What it looks at: every chroot definition (or the target's), its directory and its setup files.
    const { chroots, problems: syntax } = await ctx.host.schrootConfig();
    const wanted = ctx.target.kind === 'host' || ctx.target.kind === 'self' ? chroots : chroots.filter((c) => c.name === ctx.target.schroot?.chroot || c.aliases.includes(ctx.target.schroot?.chroot ?? ''));
    if (wanted.length === 0) {
      return outcomeOf([], [], ctx.target.kind !== 'schroot' ? 'no schroot chroots configured' : `chroot ${ctx.target.schroot?.chroot ?? ctx.target.name} is not in /etc/schroot (the session keeps its own copy of the settings)`);
    }

    // How it decides: each missing or odd thing is its own finding, with its exact edit.
    const findings: Finding[] = [];
    const fixes: Fix[] = [];
    const add = (ps: Problem[]): void => { for (const p of ps) { findings.push(p.finding); if (p.fix) fixes.push(p.fix); } };
    const sources = new Set(wanted.map((c) => c.source));
    for (const s of syntax.filter((p) => sources.has(p.source))) {
      findings.push(finding('config-syntax', 'warn', `${s.source}${s.line !== undefined ? ` line ${s.line}` : ''}: ${s.message}`, { file: s.source, line: s.line ?? null }));
    }
    const run = await runReplacementFor(ctx.host, ctx.target.user);
    for (const c of wanted) {
      const lines = await keyLines(ctx, c);
      add(await directoryProblems(ctx, c, lines));
      const { problems, present } = await setupFileProblems(ctx, c, lines);
      add(problems);
      if (present.copyfiles) add(await copyfilesProblems(ctx, chroots, c, present.copyfiles));
      if (present.fstab) add(await fstabProblems(ctx, c, present.fstab, run));
    }
    findings.push(finding('chroots', 'info', `checked ${wanted.map((c) => c.name).join(', ')}`, { chroots: wanted.map((c) => ({ name: c.name, file: c.source, directory: c.directory ?? null, files: effectiveSetupFiles(c) })) }));
    // What it offers: the config edits built with each finding.
    const bad = findings.filter((f) => f.severity !== 'info').length;
    return outcomeOf(findings, fixes, bad === 0 ? `${wanted.length} chroot(s) configured correctly` : undefined);
  },
});
