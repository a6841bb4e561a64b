import { describe, expect, it } from 'vitest';
import { bestSessionCandidate, type SessionCandidate } from '../../../src/targets/session-process.js';

const proc = (pid: number, uid: number, startTime: number, env: Record<string, string>): SessionCandidate => ({
  p: { pid, uid, startTime },
  env,
});

describe('bestSessionCandidate', () => {
  it('prefers the shell with a display over an older sound server of the same user', () => {
    const pulse = proc(10, 1000, 100, { XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/u' });
    const shell = proc(20, 1000, 200, { DISPLAY: ':0', XDG_RUNTIME_DIR: '/run/user/1000', XAUTHORITY: '/home/u/.Xauthority' });
    expect(bestSessionCandidate([pulse, shell])?.p.pid).toBe(20);
  });

  it('counts WAYLAND_DISPLAY as a display', () => {
    const bus = proc(10, 1000, 100, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus', XDG_RUNTIME_DIR: '/run/user/1000' });
    const app = proc(20, 1000, 200, { WAYLAND_DISPLAY: 'wayland-0' });
    expect(bestSessionCandidate([bus, app])?.p.pid).toBe(20);
  });

  it('keeps a regular user above root even when only root has a display', () => {
    const root = proc(5, 0, 50, { DISPLAY: ':0' });
    const user = proc(30, 1000, 300, { HOME: '/home/u' });
    expect(bestSessionCandidate([root, user])?.p.pid).toBe(30);
  });

  it('puts system users (uid 1–999) between root and regular users', () => {
    const daemon = proc(7, 106, 70, { HOME: '/nonexistent' });
    const root = proc(5, 0, 50, { DISPLAY: ':0' });
    expect(bestSessionCandidate([root, daemon])?.p.pid).toBe(7);
  });

  it('among equals picks the oldest, then the lowest pid', () => {
    const a = proc(40, 1000, 300, { DISPLAY: ':0' });
    const b = proc(30, 1000, 200, { DISPLAY: ':0' });
    const c = proc(20, 1000, 200, { DISPLAY: ':0' });
    expect(bestSessionCandidate([a, b, c])?.p.pid).toBe(20);
  });

  it('returns null for no candidates', () => {
    expect(bestSessionCandidate([])).toBeNull();
  });
});
