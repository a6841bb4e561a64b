import { isIPv6 } from 'node:net';
import { ParseError } from './parse-error.js';

/** Address families used in `.Xauthority` (Xauth.h). */
export const XauthFamily = {
  Internet: 0,
  Internet6: 6,
  LocalHost: 252,
  Netname: 254,
  Local: 256,
  Wild: 65535,
} as const;

const FAMILY_NAMES = new Map<number, string>(Object.entries(XauthFamily).map(([name, n]) => [n, name]));

/** One record of an Xauthority file. */
export interface XauthEntry {
  family: number;
  /** `Local`, `Wild`, `Internet`… or `unknown-N`. */
  familyName: string;
  address: Buffer;
  /** The address for people: a hostname, a dotted IPv4, an IPv6 address, or hex. */
  addressText: string;
  /** The display number as text; empty matches every display. */
  display: string;
  /** The authorization protocol, normally `MIT-MAGIC-COOKIE-1`. */
  name: string;
  /** The cookie. */
  data: Buffer;
}

function addressText(family: number, address: Buffer): string {
  if (family === XauthFamily.Internet && address.length === 4) return [...address].join('.');
  if (family === XauthFamily.Internet6 && address.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(address.readUInt16BE(i).toString(16));
    const text = groups.join(':');
    return isIPv6(text) ? text : address.toString('hex');
  }
  if (family === XauthFamily.Local || family === XauthFamily.LocalHost || family === XauthFamily.Netname) {
    return address.toString('latin1');
  }
  return address.toString('hex');
}

/** Build an entry from its parts, filling in the derived names. */
export function makeXauthEntry(family: number, address: Buffer, display: string, name: string, data: Buffer): XauthEntry {
  return {
    family,
    familyName: FAMILY_NAMES.get(family) ?? `unknown-${family}`,
    address,
    addressText: addressText(family, address),
    display,
    name,
    data,
  };
}

/** Read records until the input ends; a cut-off last record sets `truncated`. Never throws. */
export function parseXauthority(buf: Buffer): { entries: XauthEntry[]; truncated: boolean } {
  const entries: XauthEntry[] = [];
  let pos = 0;
  const counted = (): Buffer | null => {
    if (pos + 2 > buf.length) return null;
    const len = buf.readUInt16BE(pos);
    if (pos + 2 + len > buf.length) return null;
    const field = Buffer.from(buf.subarray(pos + 2, pos + 2 + len));
    pos += 2 + len;
    return field;
  };
  while (pos < buf.length) {
    if (pos + 2 > buf.length) return { entries, truncated: true };
    const family = buf.readUInt16BE(pos);
    pos += 2;
    const address = counted();
    const display = counted();
    const name = counted();
    const data = counted();
    if (address === null || display === null || name === null || data === null) return { entries, truncated: true };
    entries.push(makeXauthEntry(family, address, display.toString('latin1'), name.toString('latin1'), data));
  }
  return { entries, truncated: false };
}

function counted(b: Buffer, what: string): Buffer[] {
  if (b.length > 0xffff) throw new ParseError('field-too-long', `Xauthority ${what} is longer than 65535 bytes`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return [len, b];
}

/**
 * Write entries in the Xauthority format. Display and name are written as latin1.
 * @throws ParseError `field-too-long` or `bad-family` when an entry cannot be represented.
 */
export function printXauthority(entries: readonly XauthEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (!Number.isInteger(e.family) || e.family < 0 || e.family > 0xffff) {
      throw new ParseError('bad-family', `Xauthority family ${e.family} is not a 16-bit number`);
    }
    const fam = Buffer.alloc(2);
    fam.writeUInt16BE(e.family);
    parts.push(fam);
    parts.push(...counted(e.address, 'address'));
    parts.push(...counted(Buffer.from(e.display, 'latin1'), 'display'));
    parts.push(...counted(Buffer.from(e.name, 'latin1'), 'name'));
    parts.push(...counted(e.data, 'data'));
  }
  return Buffer.concat(parts);
}

/** Why `pickCookie` chose what it chose. */
export type CookieReason = 'exact' | 'wild' | 'hostname-mismatch' | 'none';

/**
 * Choose the entry libXau would use for a local (unix socket) connection: the first entry that is
 * FamilyWild, or FamilyLocal with this hostname, whose display matches (an empty display matches any).
 * When nothing matches but a Local entry for this display names another host, that entry is returned
 * with `hostname-mismatch`: the classic "cookie made on another hostname" fault.
 */
export function pickCookie(
  entries: readonly XauthEntry[],
  want: { display: string; hostname: string },
): { entry: XauthEntry | null; reason: CookieReason } {
  const host = Buffer.from(want.hostname, 'latin1');
  const displayMatches = (e: XauthEntry): boolean => e.display === '' || want.display === '' || e.display === want.display;
  for (const e of entries) {
    if (!displayMatches(e)) continue;
    if (e.family === XauthFamily.Wild) return { entry: e, reason: 'wild' };
    if (e.family === XauthFamily.Local && e.address.equals(host)) return { entry: e, reason: 'exact' };
  }
  const other = entries.find((e) => e.family === XauthFamily.Local && displayMatches(e));
  return other === undefined ? { entry: null, reason: 'none' } : { entry: other, reason: 'hostname-mismatch' };
}
