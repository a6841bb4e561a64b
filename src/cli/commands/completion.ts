import type { CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';

/** Shells `ctr-doctor completion` writes a script for. */
export type CompletionShell = 'bash' | 'zsh';

/** The TARGET forms, completed as prefixes (a directory path falls back to file completion). */
export const TARGET_PREFIXES = ['chroot:', 'schroot:', 'session:', 'nspawn:', 'pid:', 'podman:', 'docker:', 'self'] as const;

// Both scripts ask the CLI itself (yargs' `--get-yargs-completions` protocol) for the words.
const BASH = `###-begin-ctr-doctor-completions-###
# bash completion for ctr-doctor. Install: ctr-doctor completion bash >> ~/.bashrc
_ctr_doctor_completions() {
  local line="\${COMP_LINE:0:COMP_POINT}" cur prefix
  local -a words reply
  read -r -a words <<< "$line"
  [[ "$line" == *[[:space:]] ]] && words+=("")
  cur="\${words[\${#words[@]}-1]}"
  local IFS=$'\\n'
  reply=($(SHELL=bash "\${words[0]}" --get-yargs-completions "\${words[@]}" 2>/dev/null))
  COMPREPLY=($(compgen -W "\${reply[*]}" -- "$cur"))
  # bash splits words at ':' (COMP_WORDBREAKS): complete only the part after the last one.
  if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
    prefix="\${cur%"\${cur##*:}"}"
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
  [[ \${#COMPREPLY[@]} -eq 1 && "\${COMPREPLY[0]}" == *[:,] ]] && compopt -o nospace
  return 0
}
complete -o bashdefault -o default -F _ctr_doctor_completions ctr-doctor
###-end-ctr-doctor-completions-###
`;

const ZSH = `#compdef ctr-doctor
###-begin-ctr-doctor-completions-###
# zsh completion for ctr-doctor. Install: ctr-doctor completion zsh >> ~/.zshrc
_ctr_doctor_completions() {
  local -a reply
  local si=$IFS
  IFS=$'\\n' reply=($(SHELL=zsh "\${words[1]}" --get-yargs-completions "\${words[@]:0:$CURRENT}" 2>/dev/null))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then
    _describe -S '' 'values' reply
  else
    _default
  fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _ctr_doctor_completions "$@"
else
  compdef _ctr_doctor_completions ctr-doctor
fi
###-end-ctr-doctor-completions-###
`;

/** The completion script for a shell; the default follows $SHELL. */
export function completionScript(shell: string | undefined, env: Record<string, string | undefined>): string {
  const chosen = shell ?? (/zsh/.test(env.SHELL ?? '') ? 'zsh' : 'bash');
  if (chosen === 'bash') return BASH;
  if (chosen === 'zsh') return ZSH;
  throw new UsageError(`no completion for shell "${chosen}"`, 'use `ctr-doctor completion bash` or `ctr-doctor completion zsh`');
}

/** `ctr-doctor completion [bash|zsh]`: print the script to source from the shell's rc file. */
export function runCompletionCommand(shell: string | undefined, io: CliIo): number {
  io.out.write(completionScript(shell, io.env));
  return 0;
}

/** What the word being completed needs, given the words before it. */
export interface CompletionRequest {
  /** The words typed so far, the command name first, the current (partial) word last. */
  words: string[];
  /** Check ids and group names to offer after --only/--skip. */
  checkNames: string[];
  /** zsh reads `word:description`, so a literal ':' must be escaped. */
  zsh: boolean;
  /** Finding codes, check ids and fix ids, offered after `explain`. */
  explainNames?: string[];
}

const FORMATS = ['tty', 'text', 'json', 'junit', 'prometheus'] as const;

/** Options of `check`/`fix` that take a value, so the next word is not a TARGET. */
const VALUE_OPTIONS = new Set(['--format', '--timeout', '--user', '--env-from', '--ping-target', '--dns-name', '--plugin']);

/** Words to offer, and whether yargs' own completion (commands, options, choices) is wanted too. */
export interface CompletionAnswer {
  words: string[];
  withDefaults: boolean;
}

/**
 * Words for --only/--skip (check ids and groups, after any comma-separated ones already typed)
 * and for the TARGET (its prefixes); null when only yargs' own completion fits.
 */
export function completeWord(req: CompletionRequest): CompletionAnswer | null {
  const current = req.words[req.words.length - 1] ?? '';
  const previous = req.words[req.words.length - 2] ?? '';
  const escape = (w: string) => (req.zsh ? w.replace(/:/g, '\\:') : w);
  const inline = /^--(only|skip)=(.*)$/.exec(current);
  if (inline || previous === '--only' || previous === '--skip') {
    const typed = inline ? inline[2]! : current;
    const head = typed.includes(',') ? typed.slice(0, typed.lastIndexOf(',') + 1) : '';
    const already = new Set(head.split(',').filter(Boolean));
    const lead = inline ? `--${inline[1]}=` : '';
    return { words: req.checkNames.filter((n) => !already.has(n)).map((n) => escape(`${lead}${head}${n}`)), withDefaults: false };
  }
  if (previous === '--format') return { words: [...FORMATS], withDefaults: false };
  if (previous === 'completion') return { words: ['bash', 'zsh'], withDefaults: false };
  if (previous === 'explain' && !current.startsWith('-')) return { words: (req.explainNames ?? []).map(escape), withDefaults: false };
  if (current.startsWith('-') || VALUE_OPTIONS.has(previous)) return null;
  const before = req.words.slice(1, -1);
  const positionals = before.filter((w, i) => !w.startsWith('-') && !VALUE_OPTIONS.has(before[i - 1] ?? ''));
  const command = positionals[0] === 'check' || positionals[0] === 'fix' || positionals[0] === 'undo' ? positionals[0] : undefined;
  const hasTarget = positionals.length > (command ? 1 : 0);
  if (hasTarget || (positionals.length > 0 && !command)) return null;
  // No command yet: the target of the default command, and the commands yargs lists.
  return { words: TARGET_PREFIXES.map(escape), withDefaults: command === undefined };
}

/**
 * Answers `ctr-doctor --get-yargs-completions WORDS…` (what the scripts run): our words for
 * --only/--skip and the TARGET, merged with yargs' own (commands, options, choices) where they fit.
 */
export async function completeArgv(
  argv: string[],
  env: Record<string, string | undefined>,
  defaults: (onCompleted?: (err: Error | null, words: string[] | undefined) => void) => void,
  done: (words: string[]) => void,
): Promise<void> {
  const words = argv.slice(argv.indexOf('--get-yargs-completions') + 1);
  const [{ builtinChecks }, { explainNames }] = await Promise.all([
    import('../../checks/index.js'),
    import('../../report/explain-text.js'),
  ]);
  const checkNames = [...new Set(builtinChecks.flatMap((c) => [c.group, c.id]))];
  const answer = completeWord({ words, checkNames, zsh: /zsh/.test(env.SHELL ?? ''), explainNames: explainNames(builtinChecks) });
  if (answer === null) {
    defaults();
    return;
  }
  if (!answer.withDefaults) {
    done(answer.words);
    return;
  }
  defaults((_err, fromYargs) => {
    done([...(fromYargs ?? []).filter((w) => !w.startsWith('__')), ...answer.words]);
  });
}
