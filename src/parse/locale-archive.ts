/**
 * The locale names in glibc's locale-archive (/usr/lib/locale/locale-archive), as `locale -a`
 * lists them: the name hash table's used entries. Layout (glibc's locarchive.h), native byte order,
 * all fields 32-bit: a header of fourteen words (magic, serial, then offset/used/size of the name
 * hash table, the string table, the locale records and the MD5 sums), and a name hash table of
 * `namehash_size` entries of three words (hash value, name offset, locale record offset; a record
 * offset of 0 is an empty slot). A name is a NUL-terminated string at its offset from the file's start.
 *
 * The file is the guest's and may be hostile: every offset and count is checked against the file's
 * size and the bytes actually read, and anything out of place is a reason, never a throw.
 */

/** glibc's AR_MAGIC, in the byte order of the machine that wrote the archive. */
const AR_MAGIC = 0xde020109;
/** Fourteen 32-bit words. */
export const ARCHIVE_HEADER_BYTES = 56;
/** One name hash entry: hashval, name_offset, locrec_offset. */
const NAMEHASH_ENTRY_BYTES = 12;
/** glibc's names are short ("en_US.utf8"); a longer one is not a locale name the tool needs to trust. */
const MAX_NAME_BYTES = 256;

/** Why the archive's names could not be read; the caller then asks the guest's `locale -a`. */
export type ArchiveProblem =
  /** Shorter than its header. */
  | 'short'
  /** Not glibc's magic (another byte order, or not an archive). */
  | 'magic'
  /** A table or a name lies outside the file. */
  | 'bounds'
  /** A name that does not end, is empty, or is unreasonably long. */
  | 'name'
  /** The tables lie beyond the bytes that were read (the caller's cap). */
  | 'beyond-read';

export type ArchiveNames = { ok: true; names: string[] } | { ok: false; problem: ArchiveProblem; message: string };

interface Header {
  namehashOffset: number;
  namehashSize: number;
  stringOffset: number;
  stringSize: number;
  locrectabOffset: number;
  locrectabSize: number;
  sumhashOffset: number;
  sumhashSize: number;
}

function readHeader(bytes: Buffer): Header | ArchiveNames {
  if (bytes.length < ARCHIVE_HEADER_BYTES)
    return { ok: false, problem: 'short', message: `${bytes.length} bytes, shorter than the ${ARCHIVE_HEADER_BYTES}-byte header` };
  const word = (i: number): number => bytes.readUInt32LE(i * 4);
  if (word(0) !== AR_MAGIC)
    return {
      ok: false,
      problem: 'magic',
      message:
        bytes.readUInt32BE(0) === AR_MAGIC
          ? 'an archive of the other byte order'
          : `magic 0x${word(0).toString(16).padStart(8, '0')}, not glibc's 0x${AR_MAGIC.toString(16)}`,
    };
  return {
    namehashOffset: word(2),
    namehashSize: word(4),
    stringOffset: word(5),
    stringSize: word(7),
    locrectabOffset: word(8),
    locrectabSize: word(10),
    sumhashOffset: word(11),
    sumhashSize: word(13),
  };
}

/**
 * How many bytes from the start must be read to list the names: the header, the name hash table
 * and the string table. Null when `header` (the first {@link ARCHIVE_HEADER_BYTES} bytes) is not an archive's.
 */
export function archiveTablesEnd(header: Buffer): number | null {
  const h = readHeader(header);
  if ('ok' in h) return null;
  return Math.max(ARCHIVE_HEADER_BYTES, h.namehashOffset + h.namehashSize * NAMEHASH_ENTRY_BYTES, h.stringOffset + h.stringSize);
}

/**
 * The names the archive holds, in table order, each once. `bytes` is the file from its start (at
 * least up to {@link archiveTablesEnd}), `fileSize` its size: a table that does not fit the file
 * is `bounds` (glibc's `locale -a` would list nothing from such a file), one that fits the file but
 * not the bytes read is `beyond-read`.
 */
export function parseLocaleArchive(bytes: Buffer, fileSize: number): ArchiveNames {
  const h = readHeader(bytes);
  if ('ok' in h) return h;
  const tables: [string, number, number][] = [
    ['name hash table', h.namehashOffset, h.namehashSize * NAMEHASH_ENTRY_BYTES],
    ['string table', h.stringOffset, h.stringSize],
    ['locale records', h.locrectabOffset, h.locrectabSize],
    ['sum hash table', h.sumhashOffset, h.sumhashSize],
  ];
  for (const [what, offset, length] of tables)
    if (offset + length > fileSize)
      return { ok: false, problem: 'bounds', message: `the ${what} (${length} bytes at ${offset}) ends past the file's ${fileSize} bytes` };
  const tableEnd = h.namehashOffset + h.namehashSize * NAMEHASH_ENTRY_BYTES;
  if (tableEnd > bytes.length)
    return { ok: false, problem: 'beyond-read', message: `the name hash table ends at ${tableEnd}, past the ${bytes.length} bytes read` };
  const names = new Set<string>();
  for (let i = 0; i < h.namehashSize; i++) {
    const entry = h.namehashOffset + i * NAMEHASH_ENTRY_BYTES;
    const nameOffset = bytes.readUInt32LE(entry + 4);
    // An empty slot: its record offset is 0.
    if (bytes.readUInt32LE(entry + 8) === 0) continue;
    if (nameOffset >= fileSize)
      return { ok: false, problem: 'bounds', message: `entry ${i}'s name at ${nameOffset} is past the file's ${fileSize} bytes` };
    if (nameOffset >= bytes.length)
      return { ok: false, problem: 'beyond-read', message: `entry ${i}'s name at ${nameOffset} is past the ${bytes.length} bytes read` };
    // Looked for within a name's length only: a hostile table of names that never end costs no more than real ones.
    const length = bytes.subarray(nameOffset, nameOffset + MAX_NAME_BYTES + 1).indexOf(0);
    if (length === -1 && nameOffset + MAX_NAME_BYTES + 1 > bytes.length && bytes.length < fileSize)
      return { ok: false, problem: 'beyond-read', message: `entry ${i}'s name at ${nameOffset} runs past the ${bytes.length} bytes read` };
    if (length <= 0)
      return {
        ok: false,
        problem: 'name',
        message: `entry ${i}'s name at ${nameOffset} is ${length === 0 ? 'empty' : `not NUL-terminated within ${MAX_NAME_BYTES} bytes`}`,
      };
    names.add(bytes.toString('utf8', nameOffset, nameOffset + length));
  }
  return { ok: true, names: [...names] };
}
