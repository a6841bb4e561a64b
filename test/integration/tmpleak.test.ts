import { spawn } from 'node:child_process';
import { test } from 'vitest';
test('leaks', () => { const c = spawn('sleep', ['47'], { detached: true, stdio: 'ignore' }); c.unref(); console.log('LEAKPID', c.pid); });
