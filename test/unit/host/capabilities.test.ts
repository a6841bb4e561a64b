import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { boundingSetOf } from '../../../src/host/capabilities.js';
import { capabilitiesOf } from '../../../src/guest/guest-argv.js';

describe('boundingSetOf', () => {
  it("reads a process's CapBnd by name, as /proc/PID/status says", async () => {
    const want = capabilitiesOf(readFileSync('/proc/self/status', 'utf8'));
    expect(want).not.toBeNull();
    expect(await boundingSetOf('self')).toEqual(want);
    // Another pid (ours, by number) is limited to our own set, which here is the same set.
    expect(await boundingSetOf(process.pid)).toEqual(want);
    expect(await boundingSetOf(process.pid)).toEqual(want);
  });

  it('is null for a process that does not exist', async () => {
    // Above pid_max (at most 2^22): no such process can exist.
    expect(await boundingSetOf(2 ** 23)).toBeNull();
  });
});
