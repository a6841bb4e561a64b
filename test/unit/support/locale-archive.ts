/**
 * Builds locale-archive bytes in glibc's layout (locarchive.h) for tests: the header, a name hash
 * table of `slots` entries (names placed in order, the rest empty), the string table, and small
 * locale-record and sum tables. `patch` overrides header words for hostile cases.
 */
export interface ArchiveSpec {
  names: string[];
  /** Name hash slots (default twice the names and one, so some are empty). */
  slots?: number;
  /** Header words by index (0 magic … 13 sumhash_size), after the layout is computed. */
  patch?: Record<number, number>;
  /** Bytes of locale data after the tables (the real archive's bulk). */
  tail?: number;
}

export function buildLocaleArchive(spec: ArchiveSpec): Buffer {
  const slots = spec.slots ?? spec.names.length * 2 + 1;
  const header = 56;
  const namehashOffset = header;
  const stringOffset = namehashOffset + slots * 12;
  const strings = Buffer.concat(spec.names.map((n) => Buffer.from(`${n}\0`)));
  const locrecOffset = stringOffset + strings.length;
  const locrecSize = 108 * Math.max(1, spec.names.length);
  const sumOffset = locrecOffset + locrecSize;
  const sumSize = 24 * 4;
  const total = sumOffset + sumSize + (spec.tail ?? 0);
  const buf = Buffer.alloc(total);
  const words = [
    0xde020109,
    1,
    namehashOffset,
    spec.names.length,
    slots,
    stringOffset,
    strings.length,
    strings.length,
    locrecOffset,
    spec.names.length,
    locrecSize,
    sumOffset,
    0,
    sumSize,
  ];
  for (const [i, v] of Object.entries(spec.patch ?? {})) words[Number(i)] = v;
  words.forEach((w, i) => buf.writeUInt32LE(w >>> 0, i * 4));
  let at = 0;
  spec.names.forEach((n, i) => {
    // Every other slot stays empty, like a real hash table with collisions resolved further on.
    const slot = slots >= 2 * spec.names.length ? 2 * i : i;
    const entry = namehashOffset + slot * 12;
    buf.writeUInt32LE(0x1234 + i, entry);
    buf.writeUInt32LE(stringOffset + at, entry + 4);
    buf.writeUInt32LE(locrecOffset + 108 * i, entry + 8);
    at += Buffer.byteLength(n) + 1;
  });
  strings.copy(buf, stringOffset);
  return buf;
}
