import { describe, expect, it } from 'vitest';
import { isLoopbackLiteral } from '../../../src/parse/loopback.js';

describe('isLoopbackLiteral (M6)', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (h) =>
    expect(isLoopbackLiteral(h)).toBe(true),
  );
  it.each(['127.attacker.example', 'localhost', '128.0.0.1', '::2', '192.0.2.1', '127.0.0.1.nip.io', ''])('%s is not', (h) =>
    expect(isLoopbackLiteral(h)).toBe(false),
  );
});
