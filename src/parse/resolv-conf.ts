import { isIPv4, isIPv6 } from 'node:net';
import { eachLine, splitWords } from './text-lines.js';

/** glibc (`MAXNS`) uses only the first three nameservers; the rest are recorded but ignored by the resolver. */
export const GLIBC_MAXNS = 3;

// glibc's caps: RES_MAXRETRANS, RES_MAXRETRY and RES_MAXNDOTS.
const CAPS = { timeout: 30, attempts: 5, ndots: 15 } as const;

/** One `nameserver` line whose address glibc would accept. */
export interface Nameserver {
  address: string;
  family: 4 | 6;
  /** 1-based line in the file. */
  line: number;
  /** The `%eth0` part of a link-local IPv6 address, without the `%`. */
  scopeId?: string;
}

/** The `options` line(s), with numeric values capped as glibc caps them. */
export interface ResolvOptions {
  timeout?: number;
  attempts?: number;
  ndots?: number;
  rotate: boolean;
  edns0: boolean;
  useVc: boolean;
  /** Every other option word, in order (for example `trust-ad`, `single-request`). */
  other: string[];
}

/** A resolv.conf as glibc's resolver reads it. Nothing in here is fatal: problems are collected. */
export interface ResolvConf {
  nameservers: Nameserver[];
  /** From the last `search` or `domain` line. */
  search: string[];
  options: ResolvOptions;
  /** Lines that are neither blank nor comments. */
  contentLines: number;
  commentLines: number;
  /** Lines with a keyword glibc does not know (it ignores them). */
  unknown: { line: number; text: string }[];
  /** Lines glibc ignores or half-reads because something is wrong with them. */
  invalid: { line: number; text: string; reason: string }[];
}

const KEYWORD = /^(nameserver|domain|search|options|sortlist)[ \t]/;

/** Parse resolv.conf text with glibc's rules. Never throws. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = {
    nameservers: [],
    search: [],
    options: { rotate: false, edns0: false, useVc: false, other: [] },
    contentLines: 0,
    commentLines: 0,
    unknown: [],
    invalid: [],
  };
  for (const { line, text: raw } of eachLine(text)) {
    if (raw.trim() === '') continue;
    if (/^[ \t]*[#;]/.test(raw)) {
      conf.commentLines++;
      continue;
    }
    conf.contentLines++;
    // glibc matches keywords only in the first column, so an indented line is silently ignored.
    if (/^[ \t]/.test(raw)) {
      conf.invalid.push({ line, text: raw, reason: 'leading whitespace: glibc ignores this line' });
      continue;
    }
    const m = KEYWORD.exec(raw + ' ');
    if (m === null) {
      conf.unknown.push({ line, text: raw });
      continue;
    }
    const keyword = m[1];
    // Everything from a `#` or `;` on is a trailing comment.
    const rest = raw.slice(keyword?.length ?? 0).split(/[#;]/)[0] ?? '';
    if (keyword === 'nameserver') readNameserver(conf, line, raw, rest);
    else if (keyword === 'domain') conf.search = splitWords(trimCr(rest)).slice(0, 1);
    else if (keyword === 'search') conf.search = splitWords(trimCr(rest));
    else if (keyword === 'options') readOptions(conf, line, raw, splitWords(trimCr(rest)));
  }
  return conf;
}

function trimCr(s: string): string {
  return s.replace(/\r/g, ' ');
}

function readNameserver(conf: ResolvConf, line: number, raw: string, rest: string): void {
  const word = splitWords(rest)[0];
  if (word === undefined) {
    conf.invalid.push({ line, text: raw, reason: 'nameserver without an address' });
    return;
  }
  // A CRLF file leaves `\r` on the address, and glibc then rejects it.
  if (word.includes('\r')) {
    conf.invalid.push({ line, text: raw, reason: 'carriage return (CRLF line ending) after the address' });
    return;
  }
  const pct = word.indexOf('%');
  const address = pct < 0 ? word : word.slice(0, pct);
  const scopeId = pct < 0 ? undefined : word.slice(pct + 1);
  if (scopeId === undefined && isIPv4(address)) {
    conf.nameservers.push({ address, family: 4, line });
  } else if (isIPv6(address) && scopeId !== '') {
    conf.nameservers.push(scopeId === undefined ? { address, family: 6, line } : { address, family: 6, line, scopeId });
  } else {
    conf.invalid.push({ line, text: raw, reason: `not an IPv4 or IPv6 address: ${word}` });
  }
}

function readOptions(conf: ResolvConf, line: number, raw: string, words: string[]): void {
  const o = conf.options;
  for (const w of words) {
    const num = /^(timeout|attempts|ndots):(.*)$/.exec(w);
    if (num !== null) {
      const key = num[1] as keyof typeof CAPS;
      const value = num[2] ?? '';
      if (/^\d+$/.test(value)) o[key] = Math.min(Number(value), CAPS[key]);
      else conf.invalid.push({ line, text: raw, reason: `option ${key} needs a number, got "${value}"` });
    } else if (w === 'rotate') o.rotate = true;
    else if (w === 'edns0') o.edns0 = true;
    else if (w === 'use-vc') o.useVc = true;
    else o.other.push(w);
  }
}

/** Write a resolv.conf that parses back to the same nameservers, search list and options. */
export function printResolvConf(conf: ResolvConf): string {
  const out: string[] = [];
  if (conf.search.length > 0) out.push(`search ${conf.search.join(' ')}`);
  for (const ns of conf.nameservers) {
    out.push(`nameserver ${ns.address}${ns.scopeId === undefined ? '' : `%${ns.scopeId}`}`);
  }
  const o = conf.options;
  const words = [
    ...(o.timeout === undefined ? [] : [`timeout:${o.timeout}`]),
    ...(o.attempts === undefined ? [] : [`attempts:${o.attempts}`]),
    ...(o.ndots === undefined ? [] : [`ndots:${o.ndots}`]),
    ...(o.rotate ? ['rotate'] : []),
    ...(o.edns0 ? ['edns0'] : []),
    ...(o.useVc ? ['use-vc'] : []),
    ...o.other,
  ];
  if (words.length > 0) out.push(`options ${words.join(' ')}`);
  return out.map((l) => l + '\n').join('');
}
