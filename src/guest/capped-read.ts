import { fileOpSteps, type FileOp } from './guest-file-ops.js';
import { askOrHere } from './guest-files-client.js';
import { runStepsAsync } from './walk-in-root.js';

/**
 * The text of at most `maxBytes` of the host file `path` (chosen by the tool; a FIFO or a device
 * is never opened, the size from stat is not trusted), or null when it cannot be read. In the
 * guest-files server when it is in use (check --all reads /proc files of every guest's
 * processes), else on this thread; a path about this process (/proc/self, /dev/fd, relative) always here.
 */
export async function readFileCapped(path: string, maxBytes: number): Promise<string | null> {
  const op: FileOp = { op: 'host-read', path, maxBytes };
  const ours = !path.startsWith('/') || /^\/proc\/(self|thread-self)(\/|$)|^\/dev\/(fd|stdin|stdout|stderr)(\/|$)/.test(path);
  const here = () => runStepsAsync(fileOpSteps(op, '/', ''));
  return (await (ours ? here() : askOrHere(op, '/', '', here))) as string | null;
}
