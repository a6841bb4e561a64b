// Fuzz the pure parsers in dist/ (run `npm run build` first): `node bench/fuzz.mjs`.
// `parsed` counts what the parsers got out of the inputs (entries, nameservers…), to show the fuzzer gets past the first check.
// A failure is any thrown error that is not a ParseError, or a printer round trip that does not hold.
// FUZZ_RUNS sets the runs per row (default 12000); FUZZ_SEED makes a run repeatable.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import * as p from '../dist/src/parse/index.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 12000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const text = fc.string({ unit: 'binary', maxLength: 400 });
const bytes = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));
const pick = (...xs) => fc.constantFrom(...xs);
// Lines built from the tokens a parser cares about, so the fuzzer reaches past the first check.
const tokenLines = (tokens, sep = ' ') =>
  fc
    .array(
      fc.array(fc.oneof(pick(...tokens), fc.string({ maxLength: 6 })), { maxLength: 12 }).map((t) => t.join(sep)),
      { maxLength: 15 },
    )
    .map((l) => l.join('\n'));

// Mostly well-formed lines with one field sometimes swapped for junk.
const noisy = (arb) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) });
const mountLine = fc
  .tuple(
    noisy(fc.nat(999).map(String)),
    noisy(fc.nat(999).map(String)),
    noisy(pick('0:21', '254:0', '8:1')),
    noisy(pick('/', '/a\\040b', '/x\\9', '/\\134')),
    noisy(pick('/proc', '/tmp/pt\\040a', '/srv/g/dev')),
    noisy(pick('rw,relatime', 'ro', '')),
    fc.array(noisy(pick('shared:1', 'master:2', 'propagate_from:3', 'unbindable', 'shared:x')), { maxLength: 3 }),
    noisy(pick('-')),
    noisy(pick('proc', 'tmpfs', 'ext4')),
    noisy(pick('none', 'my\\040src', '', '/dev/vda')),
    noisy(pick('rw', 'rw,size=1024k', 'a\\054b')),
  )
  .map(([a, b, c, d, e, f, opt, g, h, i, j]) => [a, b, c, d, e, f, ...opt, g, h, i, j].join(' '));
const resolvLine = fc.oneof(
  fc
    .tuple(
      pick('nameserver ', 'nameserver\t', ' nameserver '),
      noisy(pick('192.0.2.1', 'fe80::1%eth0', '2001:db8::1', '300.1.1.1', '1.2.3.4\r')),
      pick('', ' # c', ';x'),
    )
    .map((t) => t.join('')),
  fc.tuple(pick('search ', 'domain '), fc.array(noisy(pick('a.example', 'b', '.')), { maxLength: 4 })).map(([k, v]) => k + v.join(' ')),
  fc
    .array(noisy(pick('ndots:3', 'ndots:99', 'timeout:x', 'attempts:2', 'rotate', 'edns0', 'use-vc', 'trust-ad')), { maxLength: 5 })
    .map((o) => 'options ' + o.join(' ')),
  pick('# comment', '; comment', '', 'sortlist 10.0.0.0'),
);

const num = fc.oneof(
  fc.nat(9999).map(String),
  fc.double({ min: 0, max: 1e4, noNaN: true }).map((d) => d.toFixed(3)),
  pick('', 'x', '-1', '1e999'),
);
const pingStdout = fc
  .tuple(num, num, num, num, num, num, fc.boolean(), pick('', 'From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n'))
  .map(
    ([tx, rx, loss, a, b, c, busybox, from]) =>
      `PING x (x) 56(84) bytes of data.\n${from}\n--- x ping statistics ---\n` +
      `${tx} packets transmitted, ${rx} ${busybox ? 'packets ' : ''}received, ${loss}% packet loss, time 0ms\n` +
      `${busybox ? 'round-trip min/avg/max' : 'rtt min/avg/max/mdev'} = ${a}/${b}/${c}/0.000 ms\n`,
  );
const pingStderr = fc.oneof(
  text,
  pick(
    '',
    'ping: connect: Network is unreachable',
    'ping: socket: Operation not permitted',
    'ping: sendmsg: Operation not permitted',
    'ping: x: Name or service not known',
  ),
);
const displayArb = fc
  .tuple(
    pick('', 'tcp/', 'unix/', 'h/', 'x/'),
    pick('', 'unix', 'localhost', '[::1]', '::1', 'h:'),
    pick(':', '::', ''),
    noisy(fc.nat(70000).map(String)),
    pick('', '.0', '.', '.x'),
  )
  .map((t) => t.join(''));
const passwdLine = fc
  .tuple(
    noisy(pick('root', 'alice', '+', '#x')),
    noisy(fc.nat(70000).map(String)),
    noisy(fc.nat(70000).map(String)),
    pick('/home/a', ''),
    pick('/bin/sh', '', 'a:b'),
  )
  .map(([n, u, g, h, sh]) => `${n}:x:${u}:${g}::${h}:${sh}\n${n}:x:${g}:${n},${u}`);

const realResponse = dnsPacket.encode({
  type: 'response',
  id: 7,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'A', name: 'example.com', class: 'IN' }],
  answers: [
    { type: 'CNAME', name: 'example.com', data: 'x.example.net' },
    { type: 'A', name: 'x.example.net', data: '192.0.2.1' },
  ],
});
const realXauth = p.printXauthority([
  p.makeXauthEntry(256, Buffer.from('myhost'), '0', 'MIT-MAGIC-COOKIE-1', Buffer.alloc(16, 7)),
  p.makeXauthEntry(65535, Buffer.alloc(0), '', 'MIT-MAGIC-COOKIE-1', Buffer.alloc(16, 9)),
]);
const mutate = (base) =>
  fc.tuple(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 4 }), fc.nat(base.length)).map(([edits, cut]) => {
    const b = Buffer.from(base);
    for (const [i, v] of edits) b[i] = v;
    return b.subarray(0, cut);
  });

const ROWS = [
  [
    'resolv-conf',
    fc.oneof(
      text,
      fc.array(resolvLine, { maxLength: 12 }).map((l) => l.join('\n')),
    ),
    (s) => p.parseResolvConf(s).nameservers.length,
  ],
  [
    'mountinfo',
    fc.oneof(
      text,
      fc.array(mountLine, { maxLength: 8 }).map((l) => l.join('\n')),
    ),
    (s) => p.parseMountinfoDetailed(s).entries.length,
  ],
  [
    'fstab',
    fc.oneof(text, tokenLines(['/proc', 'none', 'rw,bind', '0', '#', '\\040', '\\', '\t', ''])),
    (s) => p.parseFstab(s).entries.length,
  ],
  [
    'schroot-config',
    fc.oneof(
      text,
      tokenLines(
        ['[a]', '[b.c]', '[]', '[', 'type=directory', 'setup.fstab=x', 'users=a,,b', 'preserve-environment=maybe', '__proto__=1', '=', '#'],
        '',
      ),
    ),
    (s) => {
      p.parseSchrootSession(s, '/x/y');
      p.parseNameList(s);
      p.parseCopyfiles(s);
      return p.parseSchrootConfig(s, 'f').chroots.length;
    },
  ],
  [
    'xauthority',
    fc.oneof(bytes, mutate(realXauth)),
    (b) => {
      const r = p.parseXauthority(b);
      p.pickCookie(r.entries, { display: '0', hostname: 'myhost' });
      return r.entries.length;
    },
  ],
  [
    'ping-output',
    fc.tuple(fc.oneof(text, pingStdout), pingStderr, fc.option(fc.integer())),
    ([o, e, rc]) => Number(p.parsePing(o, e, rc).transmitted !== null),
  ],
  [
    'dns-response',
    fc.tuple(fc.oneof(bytes, mutate(realResponse)), fc.integer({ min: -5, max: 70000 }), fc.string({ maxLength: 300 })),
    ([b, id, name]) => {
      const ok = p.decodeDnsResponse(b, { id: 7, name: 'example.com', type: 'A' }).ok;
      p.decodeDnsResponse(b, { id, name, type: 'AAAA' });
      p.readTcpFrame([b, b]);
      p.buildDnsQuery(id, name, 'AAAA'); // may throw ParseError for a bad id or name, which is allowed
      return Number(ok);
    },
  ],
  [
    'display',
    fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: pick(':', '.', '/', '0', '9', 'unix', 'tcp', '[', ']', '::1', 'X', 'a'), maxLength: 12 }),
      displayArb,
    ),
    (s) => Number(p.parseDisplay(s) !== null),
  ],
  [
    'pulse-server',
    fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: pick('unix:', 'tcp:', 'tcp6:', '{id}', '/', '[', ']', '::1', ':', '4713', ' ', 'h'), maxLength: 12 }),
    ),
    (s) => p.parsePulseServer(s).length,
  ],
  [
    'passwd',
    fc.oneof(
      text,
      fc.array(passwdLine, { maxLength: 6 }).map((l) => l.join('\n')),
    ),
    (s) => p.parsePasswd(s).length + p.parseGroup(s).length,
  ],
  [
    'nspawn-args',
    fc.array(
      fc.oneof(
        fc.string({ maxLength: 20 }),
        pick('-b', '-n', '-D', '-M', '-bnD', '-E', '--', '--bind', '--bind=a:b:c', '--setenv=__proto__=1', '--register', '--machine', '-'),
      ),
      { maxLength: 12 },
    ),
    (argv) => Number(p.parseNspawnArgs(argv).effectiveMachine !== null),
  ],
];

const sameResolv = (a, b) =>
  isDeepStrictEqual(
    [a.nameservers.map(({ address, family, scopeId }) => [address, family, scopeId]), a.search, a.options],
    [b.nameservers.map(({ address, family, scopeId }) => [address, family, scopeId]), b.search, b.options],
  );
const ROUND_TRIPS = [
  [
    'resolv-conf print',
    ROWS[0][1],
    (s) => {
      const a = p.parseResolvConf(s);
      return sameResolv(a, p.parseResolvConf(p.printResolvConf(a)));
    },
  ],
  [
    'mountinfo print',
    ROWS[1][1],
    (s) => p.parseMountinfo(s).every((e) => isDeepStrictEqual(p.parseMountinfo(p.printMountinfoLine(e)), [e])),
  ],
  [
    'fstab print',
    ROWS[2][1],
    (s) => p.parseFstab(s).entries.every((e) => isDeepStrictEqual(p.parseFstab(p.printFstabLine(e)).entries, [{ ...e, line: 1 }])),
  ],
  [
    'xauthority print',
    ROWS[4][1],
    (b) => {
      const { entries } = p.parseXauthority(b);
      return isDeepStrictEqual(p.parseXauthority(p.printXauthority(entries)).entries, entries);
    },
  ],
  ['dns tcp frame', bytes, (b) => p.readTcpFrame([p.frameTcp(b)])?.equals(b) === true],
];

function run(name, arb, fn, isRoundTrip) {
  let failures = 0;
  let parseErrors = 0;
  let parsed = 0;
  let example;
  const start = performance.now();
  fc.assert(
    fc.property(arb, (input) => {
      try {
        const out = fn(input);
        if (typeof out === 'number') parsed += out;
        if (out === false && isRoundTrip) {
          failures++;
          example ??= input;
        }
      } catch (err) {
        if (err instanceof p.ParseError) parseErrors++;
        else {
          failures++;
          example ??= { input, error: String(err) };
        }
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  return {
    parser: name,
    runs: RUNS,
    failures,
    parseErrors,
    parsed: isRoundTrip ? '-' : parsed,
    ms: Math.round(performance.now() - start),
    example,
  };
}

const results = [...ROWS.map(([n, a, f]) => run(n, a, f, false)), ...ROUND_TRIPS.map(([n, a, f]) => run(n, a, f, true))];
console.log(`fast-check seed ${SEED}, ${RUNS} runs per row`);
console.table(results.map(({ example, ...r }) => r));
const failed = results.filter((r) => r.failures > 0);
for (const r of failed) console.log(`${r.parser}: first failing input`, JSON.stringify(r.example));
const total = results.reduce((n, r) => n + r.runs, 0);
console.log(`${total} runs, ${failed.length} row(s) with failures, ${results.reduce((n, r) => n + r.ms, 0)} ms`);
process.exitCode = failed.length > 0 ? 1 : 0;
