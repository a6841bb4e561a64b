import { eachLine, splitWords } from './text-lines.js';

/** One /etc/hosts line: an address and the names given to it. */
export interface HostsEntry {
  line: number;
  address: string;
  names: string[];
}

/** Parses /etc/hosts (hosts(5)): comments and blank lines skipped, names compared case-insensitively later. */
export function parseEtcHosts(text: string): HostsEntry[] {
  const entries: HostsEntry[] = [];
  for (const { line, text: raw } of eachLine(text)) {
    const words = splitWords(raw.replace(/#.*$/, '').replace(/\r$/, ''));
    if (words.length < 2) continue;
    entries.push({ line, address: words[0]!, names: words.slice(1) });
  }
  return entries;
}

/** The addresses /etc/hosts gives `name` (case-insensitive, as glibc compares). */
export function hostsAddressesOf(entries: readonly HostsEntry[], name: string): string[] {
  const wanted = name.toLowerCase();
  return entries.filter((e) => e.names.some((n) => n.toLowerCase() === wanted)).map((e) => e.address);
}

/** A loopback address: 127.0.0.0/8 or ::1 (a name on one of these is the machine itself). */
export function isLoopbackAddress(address: string): boolean {
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) ||
    address === '::1' ||
    /^0*:(0*:){1,6}0*1$/.test(address) ||
    address === '0:0:0:0:0:0:0:1'
  );
}
