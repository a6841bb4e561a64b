/** What a machine-id file holds, in the terms libdbus and systemd judge it (machine-id(5)). */
export type MachineIdState =
  { state: 'valid'; id: string } | { state: 'empty' } | { state: 'uninitialized' } | { state: 'invalid'; length: number };

/**
 * Classifies a machine-id file's text. libdbus wants exactly 32 hex digits with nothing else on
 * the line (a trailing newline allowed); `uninitialized` is systemd's first-boot marker, which
 * libdbus rejects too. The length is what libdbus quotes ("not length 0").
 */
export function classifyMachineId(text: string): MachineIdState {
  const line = text.replace(/\n$/, '');
  if (line === '') return { state: 'empty' };
  if (line === 'uninitialized') return { state: 'uninitialized' };
  if (/^[0-9a-f]{32}$/.test(line) && !/^0{32}$/.test(line)) return { state: 'valid', id: line };
  return { state: 'invalid', length: line.length };
}

/** Turns 16 random bytes into a machine id: 32 lowercase hex digits, as systemd writes them (a v4 UUID's bits). */
export function machineIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length < 16) throw new Error('a machine id needs 16 random bytes');
  const b = Uint8Array.from(bytes.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return Buffer.from(b).toString('hex');
}
