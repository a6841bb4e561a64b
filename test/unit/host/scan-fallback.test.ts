import { describe, expect, it } from 'vitest';
import { startProcessScan } from '../../../src/host/proc-scan-worker.js';
import { listHostProcesses, processOwnersKnown, ProcEntry } from '../../../src/host/procfs.js';
import { identityOf } from '../../../src/host/proc-read.js';

// A file of its own: the scan is started once per process (vitest gives each file its own).
describe.skipIf(process.geteuid?.() !== 0)('the process scan when the stat programs fail', () => {
  it('is made by the scan thread instead: every process, its root, then its owner', async () => {
    startProcessScan({ shell: '/bin/sh', stat: '/bin/false' });
    const all = await listHostProcesses(10_000);
    const self = all.find((p) => p.pid === process.pid);
    expect(self?.rootId).toBe(identityOf('/'));
    expect(all.length).toBeGreaterThan(1);
    await processOwnersKnown();
    expect((self as ProcEntry).ownerUid).toBe(0);
  });
});
