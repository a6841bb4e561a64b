/**
 * Our fixed script that runs several guest commands in ONE confined guest command (see
 * command-batch.ts): `sh -c SCRIPT sh MARKER N1 WORD… N2 WORD…`, each command given as its word
 * count and its words, all positional arguments, never part of the script's text.
 *
 * - The commands run at once, one element of a pipeline each (as separate commands did; a pipeline,
 *   not `&`: a shell opens /dev/null for a background job, and a bare chroot may have none).
 * - Each runs as a program found on PATH, never one of our functions or a shell builtin: a name the
 *   shell finds with an empty PATH (`command -v`: a builtin, function or keyword) through `exec` in a
 *   subshell, any other as a simple command (the same PATH search; dash starts it by vfork, not a
 *   copy of itself that then execs; argv[0] stays the name, as with `exec`). Its words reach it through the pipeline's `eval` of text made of our function
 *   name, quotes and digits only (`ctd_one 1 "${2}" "${3}"`), so they are expanded once, as words,
 *   never parsed as shell text.
 * - It gets the script's stdin and a stdout and stderr of its own (command substitutions), and no
 *   other descriptor: the frame descriptor 3 and the saved stdin 4 are closed for it.
 * - Its stderr, stdout, exit status and the guest's clock around it are printed as one frame of
 *   tagged lines (parse/command-frames.ts) on descriptor 3, the script's stdout, once it ended; the
 *   `x` appended to each capture keeps trailing newlines a command substitution would strip.
 *   Frame lines of commands running at once may interleave, each line is printed alone.
 * - The clock: /proc/uptime read by the shell (10 ms steps), else `date +%s%N`: once just before the
 *   commands start (their common start), then once as each ends.
 * - Four processes a command (its pipeline element, the two command substitutions, the program),
 *   and no fewer: each capture needs a reader that is not the program; a
 *   command substitution keeps trailing newlines only up to a terminator written after the program
 *   ended, by its waiter; and every way sh has to start a process blocks the process that starts it
 *   (but `&`, which needs /dev/null), so that the waiter cannot be a reader too.
 *
 * Why this is no weaker than running each program alone: sh is guest code run exactly as the
 * programs are (the same confined chain, user, environment and descriptors). A guest program can
 * forge frames (it can read the marker in /proc and write to its shell's descriptors) only about
 * commands whose programs and answers are the same guest's anyway; the reader is strict and capped.
 */
const SCRIPT = [
  'm=$1; shift',
  'exec 3>&1 4<&0',
  "nl='",
  "'",
  // ctd_put INDEX KIND LAST TEXT: TEXT as frame lines tagged KIND, its last piece without a newline tagged LAST.
  'ctd_put() {',
  '  p=$4',
  '  while [ -n "$p" ]; do',
  '    case $p in',
  '      *"$nl"*) printf \'%s %s %s %s\\n\' "$m" "$1" "$2" "${p%%"$nl"*}" >&3; p=${p#*"$nl"} ;;',
  '      *) printf \'%s %s %s %s\\n\' "$m" "$1" "$3" "$p" >&3; p= ;;',
  '    esac',
  '  done',
  '}',
  // ctd_one INDEX WORD…: runs WORD… (a program, never a function or builtin), prints its frame.
  'ctd_one() {',
  '  i=$1; shift',
  // A name the shell knows without PATH (a builtin, a function, a keyword; it says so on the script's stderr) through
  // `exec`; any other name as a simple command, which finds it on PATH as `exec` would, and which dash starts by vfork.
  // The descriptors are set for good (`exec`) in this command substitution of its own: none to save and restore.
  '  o=$( { e=$( PATH=/ctd-none command -v "$1" >&2; k=$?; exec 2>&1 1>&5 5>&- 3>&- <&4 4<&-',
  '    if [ "$k" = 0 ]; then (exec "$@"); else "$@"; fi; r=$?; echo x >&2; exit $r); r=$?; } 5>&1',
  '    ctd_put "$i" R r "${e%x}"; ctd_clock; printf \'\\n%s %sx\' "$r" "$t")',
  '  o=${o%x}; z=${o##*"$nl"}; o=${o%"$nl"*}',
  '  ctd_put "$i" O o "$o"',
  '  printf \'%s %s X %s %s %s\\n\' "$m" "$i" "${z% *}" "$s" "${z#* }" >&3',
  '}',
  // One flat pipeline, `ctd_one 1 "${2}" "${3}" | ctd_one 2 "${5}" …`, made of our text and digits only: the shell
  // forks every element itself, so the last command starts as soon as the first (a pipeline of pipelines forks in turn).
  'pl=; i=1; k=1',
  'while [ "$k" -le "$#" ]; do',
  '  eval "n=\\${$k}"',
  '  case $n in ""|*[!0-9]*) exit 2 ;; esac',
  '  c=; j=0',
  '  while [ "$j" -lt "$n" ]; do k=$((k + 1)); j=$((j + 1)); c="$c \\"\\${$k}\\""; done',
  '  pl="$pl${pl:+ | }ctd_one $i$c"; i=$((i + 1)); k=$((k + 1))',
  'done',
  // The clock, read once here for the start of every command (all start now): /proc/uptime read by the shell (10 ms
  // steps), else `date +%s%N` (a fork and an exec each time, so once here rather than once a command).
  'u=',
  '{ read u _ </proc/uptime; } 2>&-',
  'case $u in',
  '  [0-9]*.[0-9][0-9]) ctd_clock() { read u _ </proc/uptime; t=${u%.*}${u#*.}0000000; }; t=${u%.*}${u#*.}0000000 ;;',
  '  *) ctd_clock() { t=$(date +%s%N 3>&- 4<&-); }; ctd_clock ;;',
  'esac',
  's=$t',
  'eval "$pl"',
].join('\n');

/** The guest command of a batch: our fixed script, then the marker and each command's word count and words. */
export function batchArgv(marker: string, commands: readonly (readonly string[])[]): string[] {
  return ['sh', '-c', SCRIPT, 'sh', marker, ...commands.flatMap((argv) => [String(argv.length), ...argv])];
}
