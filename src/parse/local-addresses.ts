import { eachLine, splitWords } from './text-lines.js';

/** The IPv4 addresses /proc/net/fib_trie marks `/32 host LOCAL`: the network namespace's own addresses. */
export function parseFibTrieLocal(text: string): string[] {
  const found = new Set<string>();
  let last: string | null = null;
  for (const { text: line } of eachLine(text)) {
    const leaf = /^\s*\|--\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (leaf) {
      last = leaf[1]!;
      continue;
    }
    if (last !== null && /^\s*\/32 host LOCAL\b/.test(line)) found.add(last);
  }
  return [...found];
}

/** The IPv6 addresses in /proc/net/if_inet6, in the short form getent prints. */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  for (const { text: line } of eachLine(text)) {
    const hex = splitWords(line)[0];
    if (!hex || !/^[0-9a-f]{32}$/i.test(hex)) continue;
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, '').toLowerCase());
    out.push(compressIpv6(groups));
  }
  return out;
}

/** RFC 5952 short form of eight hex groups: the longest run of two or more zero groups becomes `::`. */
export function compressIpv6(groups: string[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at === -1) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** The addresses of `getent ahosts NAME` (first column, each once, in order). */
export function parseGetentAhosts(text: string): string[] {
  const out: string[] = [];
  for (const { text: line } of eachLine(text)) {
    const address = splitWords(line)[0];
    if (address && !out.includes(address)) out.push(address);
  }
  return out;
}
