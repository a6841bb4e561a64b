/**
 * D-Bus server addresses (D-Bus specification, "Server Addresses"): `transport:key=value,…`,
 * alternatives separated by `;`, values percent-encoded.
 */

/** One alternative of an address, as a client would try it. */
export type DbusAddressEntry =
  | { kind: 'path'; path: string; text: string }
  | { kind: 'abstract'; name: string; text: string }
  /** `unix:runtime=yes`: `$XDG_RUNTIME_DIR/bus`. */
  | { kind: 'runtime'; text: string }
  | { kind: 'other'; transport: string; text: string };

/** Why an address cannot be used, in libdbus's words where it has some. */
export interface DbusAddressError {
  error: string;
}

function unescape(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/** The alternatives of `address`, or the first reason libdbus would refuse it. */
export function parseDbusAddress(address: string): DbusAddressEntry[] | DbusAddressError {
  const entries: DbusAddressEntry[] = [];
  for (const text of address.split(';')) {
    if (text === '') continue;
    const colon = text.indexOf(':');
    if (colon <= 0) return { error: `Address does not contain a colon ("${text}")` };
    const transport = text.slice(0, colon);
    const keys = new Map<string, string>();
    for (const pair of text.slice(colon + 1).split(',')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq < 0) return { error: `Address element "${pair}" does not contain an equal sign` };
      const value = unescape(pair.slice(eq + 1));
      if (value === null) return { error: `Address element "${pair}" has a bad percent-escape` };
      keys.set(pair.slice(0, eq), value);
    }
    if (transport !== 'unix') {
      entries.push({ kind: 'other', transport, text });
      continue;
    }
    const path = keys.get('path');
    const abstract = keys.get('abstract');
    if (path !== undefined) {
      if (!path.startsWith('/')) return { error: `unix:path="${path}" is not an absolute path` };
      entries.push({ kind: 'path', path, text });
    } else if (abstract !== undefined) entries.push({ kind: 'abstract', name: abstract, text });
    else if (keys.get('runtime') === 'yes') entries.push({ kind: 'runtime', text });
    else return { error: `"${text}": a unix address needs path=, abstract= or runtime=yes` };
  }
  if (entries.length === 0) return { error: 'Empty address' };
  return entries;
}
