import path from 'node:path';
import { defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { parseKeyFile } from '../../parse/keyfile.js';
import { parseFstab } from '../../parse/fstab.js';
import { effectiveSetupFiles, parseCopyfiles, type SchrootChroot } from '../../parse/schroot-config.js';
import { splitLines } from '../../parse/text-lines.js';
import { configEditFix, type ConfigEdit } from '../../fixes/plans/schroot-plans.js';
import { privateRunFstabLines, privateRunSchrootFix, type RunReplacement } from '../../fixes/plans/mount-plans.js';
import { coupledDirOfBind, runReplacementFor } from '../mounts/coupled-run.js';
import type { SchrootConfigProblem } from '../../core/host.js';
import type { Fix, TargetKind } from '../../core/types.js';

const ENDS_SESSIONS = 'every session of {chroot} fails to start';

const findings = {
  'config-syntax': {
    severity: 'warn',
    message: '{where}: {problem}',
    description: "A line schroot's key-file parser rejects or resolves silently.",
  },
  'directory-not-set': {
    severity: 'fail',
    message: 'schroot chroot {chroot} ({file} line {line}) has no directory= line',
    description: 'A directory chroot has no directory= line.',
  },
  'directory-missing': {
    severity: 'fail',
    message: "E: 10mount: error: Directory '{directory}' does not exist (schroot chroot {chroot}, {file} line {line})",
    description: 'The directory= of a chroot does not exist.',
  },
  'setup-file-missing': {
    severity: 'fail',
    message: '{schrootSays} (schroot chroot {chroot}, from {via})',
    description: 'The fstab, copyfiles or nssdatabases file the chroot uses does not exist.',
  },
  'copyfiles-symlink': {
    severity: 'warn',
    message:
      "{source} in {file} line {line} is a symlink on the host (to {symlinkTarget}): schroot copies a snapshot of what it points to at session start, and the session fails once the target is gone (systemd-resolved's stub on a systemd host)",
    description: 'A copyfiles entry is a symlink on the host (such as /etc/resolv.conf on a systemd host).',
  },
  'copyfiles-dangling-symlink': {
    severity: 'fail',
    message: `E: 20copyfiles: error: Not copying nonexistent file: {source}: it is a dangling symlink on the host ({file} line {line}); ${ENDS_SESSIONS}`,
    description: 'A copyfiles entry is a dangling symlink on the host: sessions fail to start.',
  },
  'copyfiles-source-missing': {
    severity: 'fail',
    message: `E: 20copyfiles: error: Not copying nonexistent file: {source} ({file} line {line}); ${ENDS_SESSIONS}`,
    description: 'A copyfiles entry does not exist on the host: sessions fail to start.',
  },
  'fstab-malformed': {
    severity: 'warn',
    message: '{file} line {line} is not an fstab line (a path with a space must be written \\040): {text}',
    description: 'An fstab line with the wrong number of fields (often an unescaped space).',
  },
  'fstab-source-missing': {
    severity: 'fail',
    message: '{file} line {line} binds {spec}, which does not exist on the host: every session of {chroot} fails to mount it',
    description: 'An fstab bind of a host path that does not exist.',
  },
  'fstab-binds-host-run': {
    severity: 'fail',
    message: "{file} line {line} binds the host's {spec} into every session of {chroot} (at {at}): {why}",
    description:
      'The profile fstab binds the host\'s /run, /run/systemd or /run/dbus: every session talks to the host\'s init and system bus ("poweroff" in the guest shuts the host down).',
  },
  'fstab-binds-host-user-run': {
    severity: 'warn',
    message: "{file} line {line} binds the host's {spec} into every session of {chroot} (at {at}): {why}",
    description: "The profile fstab binds the host's /run/user (or /run/user/UID): sessions use the host session's bus and daemons.",
  },
  chroots: { severity: 'info', message: 'checked {names}', description: 'The chroots checked.' },
} as const;

const fixDocs = {
  'schroot.set-directory': 'Add a directory= line to a chroot that has none.',
  'schroot.fix-directory': "Point directory= at the chroot's root.",
  'schroot.setup-fstab': 'Point setup.fstab at a file that exists, or create it.',
  'schroot.setup-copyfiles': 'Point setup.copyfiles at a file that exists, or create it.',
  'schroot.setup-nssdatabases': 'Point setup.nssdatabases at a file that exists, or create it.',
  'schroot.copyfiles-symlink': 'Delete the copyfiles line, or give the chroot its own empty copyfiles (setup.copyfiles=NAME/copyfiles).',
  'schroot.copyfiles-missing':
    'Delete the copyfiles line of a file that is missing (or a dangling symlink) on the host, or give the chroot its own copyfiles without it.',
  'schroot.fstab-line': 'Rewrite an fstab line that is not one (spaces inside a path escaped as \\040).',
  'schroot.fstab-source': 'Remove the fstab bind of a host path that does not exist.',
  'mounts.schroot-private-run':
    "The profile fstab line that binds the host's /run (or /run/systemd, /run/dbus, /run/user) and the tmpfs and pulse/dconf binds to put in its place.",
} as const;

type SetupKey = 'fstab' | 'copyfiles' | 'nssdatabases';
const SETUP_KEYS = ['fstab', 'copyfiles', 'nssdatabases'] as const;
type KeyLines = Map<string, { line: number; text: string }>;

/** One setup file the chroot uses: where it is, and whether it and the default profile's exist. */
interface SetupFile {
  file: string;
  exists: boolean;
  /** The default profile's file of that key exists (so setup.KEY=default/KEY is an edit that works). */
  fallbackExists: boolean;
}

/** A copyfiles entry as the host has it. */
interface CopyEntry {
  source: string;
  dest: string;
  line: number;
  text: string;
  /** lstat type of the source on the host; null when it does not exist. */
  type: string | null;
  /** Where a symlink leads; null when dangling or not a symlink. */
  real: string | null;
}

/** One configured chroot and everything the host has of it. */
interface ChrootFacts {
  chroot: SchrootChroot;
  /** Its keys' line numbers and text, read again from its file (the parsed record keeps values only). */
  lines: KeyLines;
  /** The type of its directory= on the host; null when missing. */
  directoryType: string | null;
  setup: Record<SetupKey, SetupFile>;
  /** Its copyfiles (when the file exists): the entries that are not plain files on the host, and the whole text. */
  copyfiles: { text: string; entries: CopyEntry[]; sharedWith: string[] } | null;
  /** Its fstab (when the file exists) and the bind sources missing on the host. */
  fstab: { text: string; missingSources: string[] } | null;
}

interface Facts {
  kind: TargetKind;
  name: string;
  /** The chroot the target is, when it is a schroot guest. */
  wantedName: string | null;
  configDir: string;
  syntax: SchrootConfigProblem[];
  chroots: ChrootFacts[];
  run: RunReplacement;
}

const isFile = async (ctx: CheckContext, p: string): Promise<boolean> => (await ctx.host.stat(p))?.type === 'file';

/** Line numbers and text of a chroot's keys in its file. */
function keyLines(text: string, c: SchrootChroot): KeyLines {
  const group = parseKeyFile(text).groups.find((g) => g.name === c.name);
  const raw = splitLines(text);
  return new Map(
    (group?.entries ?? []).map((e) => [e.key, { line: e.line, text: raw.find((l) => l.line === e.line)?.text ?? `${e.key}=${e.value}` }]),
  );
}

/** The copyfiles entries that are not regular files on the host (missing, a symlink, a dangling one). */
async function copyEntries(ctx: CheckContext, text: string): Promise<CopyEntry[]> {
  const raw = splitLines(text);
  const out: CopyEntry[] = [];
  for (const e of parseCopyfiles(text)) {
    const info = await ctx.host.lstat(e.source);
    if (info !== null && info.type !== 'symlink') continue;
    out.push({
      source: e.source,
      dest: e.dest,
      line: e.line,
      text: raw.find((l) => l.line === e.line)?.text ?? e.source,
      type: info?.type ?? null,
      real: info ? await ctx.host.realpath(e.source) : null,
    });
  }
  return out;
}

/** The bind sources of an fstab that do not exist on the host. */
async function missingBindSources(ctx: CheckContext, text: string): Promise<string[]> {
  const binds = parseFstab(text).entries.filter((e) => e.options.some((o) => o === 'bind' || o === 'rbind') && e.spec.startsWith('/'));
  const missing = await Promise.all(binds.map(async (e) => ((await ctx.host.stat(e.spec)) === null ? e.spec : null)));
  return missing.filter((s): s is string => s !== null);
}

// What it looks at: every chroot definition (or the target's), its file's lines, its directory, its setup files
// and the default profile's, each copyfiles entry and each fstab bind source on the host.
async function gather(ctx: CheckContext): Promise<Facts> {
  const { host, target } = ctx;
  const { chroots, problems: syntax } = await host.schrootConfig();
  const wantedName = target.kind === 'host' || target.kind === 'self' ? null : (target.schroot?.chroot ?? '');
  const wanted = wantedName === null ? chroots : chroots.filter((c) => c.name === wantedName || c.aliases.includes(wantedName));
  const configDir = host.schrootPaths.configDir;
  const fileOf = (c: SchrootChroot, key: SetupKey) => path.posix.resolve(configDir, effectiveSetupFiles(c)[key]);
  const out: ChrootFacts[] = [];
  for (const c of wanted) {
    const sourceText = (await host.readFile(c.source)) ?? '';
    const setup = {} as Record<SetupKey, SetupFile>;
    for (const key of SETUP_KEYS) {
      const file = fileOf(c, key);
      const exists = await isFile(ctx, file);
      setup[key] = { file, exists, fallbackExists: !exists && (await isFile(ctx, path.posix.resolve(configDir, 'default', key))) };
    }
    const copyText = setup.copyfiles.exists ? ((await host.readFile(setup.copyfiles.file)) ?? '') : null;
    const fstabText = setup.fstab.exists ? ((await host.readFile(setup.fstab.file)) ?? '') : null;
    out.push({
      chroot: c,
      lines: keyLines(sourceText, c),
      directoryType: c.directory === undefined ? null : ((await host.stat(c.directory))?.type ?? null),
      setup,
      copyfiles:
        copyText === null
          ? null
          : {
              text: copyText,
              entries: await copyEntries(ctx, copyText),
              sharedWith: chroots.filter((o) => o !== c && fileOf(o, 'copyfiles') === setup.copyfiles.file).map((o) => o.name),
            },
      fstab: fstabText === null ? null : { text: fstabText, missingSources: await missingBindSources(ctx, fstabText) },
    });
  }
  const sources = new Set(wanted.map((c) => c.source));
  return {
    kind: target.kind,
    name: target.name,
    wantedName,
    configDir,
    syntax: syntax.filter((p) => sources.has(p.source)),
    chroots: out,
    run: await runReplacementFor(host, target.user),
  };
}

const found = findingBuilder(findings);

/** What one chroot's definition gets wrong: the finding and the exact edits that repair it. */
interface Problem {
  reported: Reported<typeof findings>;
  fix: Fix<keyof typeof fixDocs> | null;
}

/** `directory=` of a directory (or plain) chroot. */
function directoryProblems(c: ChrootFacts): Problem[] {
  const { chroot } = c;
  if (chroot.type !== undefined && chroot.type !== 'directory' && chroot.type !== 'plain') return [];
  const at = c.lines.get('directory');
  if (chroot.directory === undefined) {
    const edit: ConfigEdit = {
      file: chroot.source,
      line: null,
      old: null,
      after: chroot.line,
      replacement: ['directory=/path/to/the/chroot'],
      why: `a ${chroot.type ?? 'plain'} chroot needs a directory`,
    };
    return [
      {
        reported: found(
          'directory-not-set',
          { chroot: chroot.name, file: chroot.source, line: chroot.line },
          { chroot: chroot.name, file: chroot.source, line: chroot.line },
        ),
        fix: configEditFix('schroot.set-directory', `Set directory= for ${chroot.name}`, [edit]),
      },
    ];
  }
  if (c.directoryType === 'directory') return [];
  const line = at?.line ?? chroot.line;
  const edit: ConfigEdit = {
    file: chroot.source,
    line,
    old: at?.text ?? `directory=${chroot.directory}`,
    replacement: ['directory=/path/to/the/chroot'],
    why: "point it at the chroot's real root directory",
  };
  return [
    {
      reported: found(
        'directory-missing',
        { directory: chroot.directory, chroot: chroot.name, file: chroot.source, line },
        {
          chroot: chroot.name,
          directory: chroot.directory,
          file: chroot.source,
          line,
          text: at?.text ?? null,
          replacement: edit.replacement[0],
          exists: c.directoryType !== null,
        },
      ),
      fix: configEditFix('schroot.fix-directory', `Fix directory= of ${chroot.name}`, [edit]),
    },
  ];
}

/** schroot's own error when a setup file is missing. */
function missingSetupError(key: SetupKey, file: string): string {
  if (key === 'fstab') return `E: 10mount: error: setup_fstab file '${file}' does not exist`;
  if (key === 'copyfiles') return `E: 20copyfiles: error: copyfiles file '${file}' does not exist`;
  return `nssdatabases file '${file}' does not exist`;
}

const SETUP_FIX = {
  fstab: 'schroot.setup-fstab',
  copyfiles: 'schroot.setup-copyfiles',
  nssdatabases: 'schroot.setup-nssdatabases',
} as const;

/** The fstab, copyfiles and nssdatabases files the chroot uses that do not exist. */
function setupFileProblems(c: ChrootFacts): Problem[] {
  const { chroot } = c;
  return SETUP_KEYS.filter((key) => !c.setup[key].exists).map((key) => {
    const { file, fallbackExists } = c.setup[key];
    const explicit = c.lines.get(`setup.${key}`);
    const via = explicit ?? c.lines.get('profile');
    const edits: ConfigEdit[] = [];
    if (fallbackExists) {
      edits.push(
        explicit
          ? {
              file: chroot.source,
              line: explicit.line,
              old: explicit.text,
              replacement: [`setup.${key}=default/${key}`],
              why: `${file} does not exist`,
            }
          : {
              file: chroot.source,
              line: null,
              old: null,
              after: chroot.line,
              replacement: [`setup.${key}=default/${key}`],
              why: `${file} does not exist`,
            },
      );
    }
    const create: ConfigEdit = {
      file,
      line: null,
      old: null,
      replacement:
        key === 'fstab'
          ? [
              '# file system  mount point  type  options  dump  pass',
              '/proc  /proc  none  rw,bind  0  0',
              '/sys  /sys  none  rw,bind  0  0',
              '/dev  /dev  none  rw,rbind  0  0',
            ]
          : [`# ${key}: one entry per line`],
      why: 'or create the file it names',
    };
    return {
      reported: found(
        'setup-file-missing',
        {
          schrootSays: missingSetupError(key, file),
          chroot: chroot.name,
          via: via ? `${chroot.source} line ${via.line}: ${via.text}` : 'the default profile',
        },
        {
          chroot: chroot.name,
          key,
          file,
          configFile: chroot.source,
          line: via?.line ?? chroot.line,
          text: via?.text ?? null,
          replacement: edits[0]?.replacement[0] ?? null,
        },
      ),
      fix: configEditFix(SETUP_FIX[key], `Give ${chroot.name} a ${key} file that exists`, [...edits, create]),
    };
  });
}

/** Each copyfiles entry that is missing, a symlink, or a dangling symlink on the host. */
function copyfilesProblems(c: ChrootFacts, configDir: string): Problem[] {
  if (!c.copyfiles) return [];
  const { chroot } = c;
  const file = c.setup.copyfiles.file;
  const { text, entries, sharedWith: shared } = c.copyfiles;
  const raw = splitLines(text);
  const keep = (drop: number): string[] => raw.filter((l) => l.line !== drop && l.text.trim() !== '').map((l) => l.text);
  return entries.map((e) => {
    // Edit this chroot's own copyfiles in place; a shared one (the default profile's) is left alone and replaced for this chroot only.
    const ownFile = path.posix.resolve(configDir, chroot.name, 'copyfiles');
    const edits: ConfigEdit[] =
      shared.length === 0
        ? [
            {
              file,
              line: e.line,
              old: e.text,
              replacement: [],
              why: 'do not copy it (on a systemd host the guest needs its own resolver setup)',
            },
          ]
        : [
            {
              file: ownFile,
              line: null,
              old: null,
              replacement: keep(e.line).length > 0 ? keep(e.line) : ['# nothing to copy'],
              why: `a copyfiles for ${chroot.name} alone, without line ${e.line} (${file} is shared with ${shared.join(', ')})`,
            },
            {
              file: chroot.source,
              line: null,
              old: null,
              after: chroot.line,
              replacement: [`setup.copyfiles=${chroot.name}/copyfiles`],
              why: `make ${chroot.name} use it`,
            },
          ];
    const evidence = {
      chroot: chroot.name,
      file,
      line: e.line,
      text: e.text,
      source: e.source,
      dest: e.dest,
      symlinkTarget: e.real,
      replacement: shared.length === 0 ? '(delete the line)' : `setup.copyfiles=${chroot.name}/copyfiles`,
      copyRealFileInstead: e.real !== null ? `${e.real} ${e.dest}` : null,
      sharedWith: shared,
    };
    const where = { source: e.source, file, line: e.line, chroot: chroot.name };
    const title = `Stop ${chroot.name} copying ${e.source}`;
    if (e.type === null)
      return {
        reported: found('copyfiles-source-missing', where, evidence),
        fix: configEditFix('schroot.copyfiles-missing', title, edits),
      };
    if (e.real === null)
      return {
        reported: found('copyfiles-dangling-symlink', where, evidence),
        fix: configEditFix('schroot.copyfiles-missing', title, edits),
      };
    return {
      reported: found('copyfiles-symlink', { ...where, symlinkTarget: e.real }, evidence),
      fix: configEditFix('schroot.copyfiles-symlink', title, edits),
    };
  });
}

/** The fstab: lines that are not fstab lines, bind sources missing on the host, binds of the host's /run. */
function fstabProblems(c: ChrootFacts, run: RunReplacement): Problem[] {
  if (!c.fstab) return [];
  const { chroot } = c;
  const file = c.setup.fstab.file;
  const parsed = parseFstab(c.fstab.text);
  const raw = splitLines(c.fstab.text);
  const lineText = (n: number) => raw.find((l) => l.line === n)?.text ?? '';
  const problems: Problem[] = parsed.malformed.map((m) => ({
    reported: found('fstab-malformed', { file, line: m.line, text: m.text }, { chroot: chroot.name, file, line: m.line, text: m.text }),
    fix: configEditFix('schroot.fstab-line', `Fix ${file} line ${m.line}`, [
      {
        file,
        line: m.line,
        old: m.text,
        replacement: [
          m.text
            .trim()
            .split(/[ \t]+/)
            .join(' ')
            .replace(/ /g, '\\040'),
        ],
        why: 'fstab fields are separated by spaces; escape spaces inside a path as \\040',
      },
    ]),
  }));
  for (const e of parsed.entries) {
    if (!c.fstab.missingSources.includes(e.spec) || !e.options.some((o) => o === 'bind' || o === 'rbind')) continue;
    problems.push({
      reported: found(
        'fstab-source-missing',
        { file, line: e.line, spec: e.spec, chroot: chroot.name },
        { chroot: chroot.name, file, line: e.line, text: lineText(e.line), replacement: '(delete the line)' },
      ),
      fix: configEditFix('schroot.fstab-source', `Remove the bind of the missing ${e.spec}`, [
        { file, line: e.line, old: lineText(e.line), replacement: [], why: `${e.spec} does not exist` },
      ]),
    });
  }
  for (const e of parsed.entries) {
    const coupled = e.options.some((o) => o === 'bind' || o === 'rbind') ? coupledDirOfBind(e.spec, e.options.includes('rbind')) : null;
    if (!coupled) continue;
    const data = { file, line: e.line, spec: e.spec, chroot: chroot.name, at: e.file, why: coupled.why };
    const evidence = {
      chroot: chroot.name,
      file,
      line: e.line,
      text: lineText(e.line),
      hostDir: coupled.dir,
      replacement: privateRunFstabLines(run),
    };
    problems.push({
      reported:
        coupled.severity === 'fail' ? found('fstab-binds-host-run', data, evidence) : found('fstab-binds-host-user-run', data, evidence),
      fix: privateRunSchrootFix(file, e.line, lineText(e.line), run),
    });
  }
  return problems;
}

/** Every problem of every chroot looked at, in the order schroot meets them. */
function problemsOf(f: Facts): Problem[] {
  return f.chroots.flatMap((c) => [
    ...directoryProblems(c),
    ...setupFileProblems(c),
    ...copyfilesProblems(c, f.configDir),
    ...fstabProblems(c, f.run),
  ]);
}

// How it decides: each missing or odd thing is its own finding, naming the file and the line.
function judge(f: Facts) {
  if (f.chroots.length === 0) {
    return {
      findings: [],
      summary:
        f.wantedName === null
          ? 'no schroot chroots configured'
          : `chroot ${f.wantedName || f.name} is not in /etc/schroot (the session keeps its own copy of the settings)`,
    };
  }
  const syntax = f.syntax.map((s) =>
    found(
      'config-syntax',
      { where: `${s.source}${s.line !== undefined ? ` line ${s.line}` : ''}`, problem: s.message },
      { file: s.source, line: s.line ?? null },
    ),
  );
  const checked = found(
    'chroots',
    { names: f.chroots.map((c) => c.chroot.name).join(', ') },
    {
      chroots: f.chroots.map((c) => ({
        name: c.chroot.name,
        file: c.chroot.source,
        directory: c.chroot.directory ?? null,
        files: effectiveSetupFiles(c.chroot),
      })),
    },
  );
  return {
    findings: [...syntax, ...problemsOf(f).map((p) => p.reported), checked],
    summary: `${f.chroots.length} chroot(s) configured correctly`,
  };
}

// What it offers: the exact config edits that go with each finding.
function offer(f: Facts) {
  return problemsOf(f).map((p) => p.fix);
}

export default defineCheck({
  id: 'schroot.config',
  group: 'schroot',
  title: 'schroot chroot configuration',
  description:
    "Reads /etc/schroot/schroot.conf and chroot.d/*, then each chroot's directory and profile files (setup.fstab, setup.copyfiles, setup.nssdatabases). Every problem names the file, the line and the replacement. A copyfiles entry that is a symlink on the host (a systemd host's /etc/resolv.conf) is the classic one.",
  findings,
  fixDocs,
  appliesTo: (ctx) => (['host', 'self', 'schroot'].includes(ctx.target.kind) ? true : `not a schroot guest (${ctx.target.kind})`),
  gather,
  judge,
  offer,
});
