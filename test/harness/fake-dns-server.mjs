#!/usr/bin/env node
// Faulty DNS servers for tests. Run inside a test network namespace:
//   nsenter --net=/run/netns/NS node test/harness/fake-dns-server.mjs --addr A --mode MODE [--port 53] [--delay MS] [--answer IP]
// Modes:
//   ok                 A <answer> for every A question (NOERROR, no records for other types)
//   silent             reads and never answers (UDP and TCP)
//   wrong-id           correct answer with a different transaction id
//   garbage            bytes that are not a DNS message
//   truncated-udp      UDP: TC bit, no answers; TCP: correct answer
//   refused-udp-ok-tcp UDP: REFUSED; TCP: correct answer
//   late               correct answer after --delay ms (default 3000)
//   big-tcp            UDP: TC bit; TCP: a ~64 KiB answer with many A records
//   servfail | nxdomain  that rcode
// Prints "ready" on stdout once UDP and TCP listen.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const addr = args.addr;
const mode = args.mode ?? 'ok';
const port = Number(args.port ?? 53);
const delay = Number(args.delay ?? 3000);
const answerIp = args.answer ?? '203.0.113.10';
const MODES = ['ok', 'silent', 'wrong-id', 'garbage', 'truncated-udp', 'refused-udp-ok-tcp', 'late', 'big-tcp', 'servfail', 'nxdomain'];
if (!addr || !MODES.includes(mode)) {
  console.error(`usage: --addr A --mode ${MODES.join('|')} [--port N] [--delay MS] [--answer IP]`);
  process.exit(2);
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };
const QR_AA_RD_RA = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;

/** Build a response to `q` (a decoded query). */
function reply(q, { rcode = 0, tc = false, answers = null, id = q.id } = {}) {
  const questions = q.questions ?? [];
  const ans =
    answers ?? questions.filter((x) => x.type === 'A').map((x) => ({ name: x.name, type: 'A', class: 'IN', ttl: 60, data: answerIp }));
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: QR_AA_RD_RA | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | rcode,
    questions,
    answers: tc || rcode ? [] : ans,
  });
}

/** About 64 KiB of A records for the first question. */
function bigAnswers(q) {
  const name = q.questions?.[0]?.name ?? 'example.com';
  const header = dnsPacket.encodingLength({ type: 'response', id: q.id, questions: q.questions ?? [], answers: [] });
  const per =
    dnsPacket.encodingLength({
      type: 'response',
      questions: [],
      answers: [{ name, type: 'A', class: 'IN', ttl: 60, data: '203.0.113.1' }],
    }) - 12;
  const n = Math.floor((65_000 - header) / per);
  return Array.from({ length: n }, (_, i) => ({
    name,
    type: 'A',
    class: 'IN',
    ttl: 60,
    data: `203.0.113.${(i % 254) + 1}`,
  }));
}

const GARBAGE = Buffer.from('this is not a DNS message \u0000\u00ff\u00fe', 'latin1');

/** The bytes to send for query `q` over `proto`, or null for no answer. */
function respond(q, proto) {
  switch (mode) {
    case 'ok':
    case 'late':
      return reply(q);
    case 'silent':
      return null;
    case 'wrong-id':
      return reply(q, { id: (q.id + 1) & 0xffff });
    case 'garbage':
      return GARBAGE;
    case 'truncated-udp':
      return proto === 'udp' ? reply(q, { tc: true }) : reply(q);
    case 'refused-udp-ok-tcp':
      return proto === 'udp' ? reply(q, { rcode: RCODE.REFUSED }) : reply(q);
    case 'big-tcp':
      return proto === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: bigAnswers(q) });
    case 'servfail':
      return reply(q, { rcode: RCODE.SERVFAIL });
    case 'nxdomain':
      return reply(q, { rcode: RCODE.NXDOMAIN });
    default:
      return null;
  }
}

function later(fn) {
  if (mode === 'late') setTimeout(fn, delay);
  else fn();
}

const udp = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => {
  let q;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return;
  }
  const out = respond(q, 'udp');
  if (out) later(() => udp.send(out, rinfo.port, rinfo.address));
});

const sockets = new Set();
const tcp = net.createServer((sock) => {
  sockets.add(sock);
  sock.on('close', () => sockets.delete(sock));
  sock.on('error', () => {});
  let buf = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      let q;
      try {
        q = dnsPacket.decode(msg);
      } catch {
        continue;
      }
      const out = respond(q, 'tcp');
      if (!out) continue;
      const framed = Buffer.alloc(2 + out.length);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      later(() => sock.writable && sock.write(framed));
    }
  });
});

let listening = 0;
const ready = () => {
  if (++listening === 2) console.log('ready');
};
udp.once('error', (e) => {
  console.error(`udp: ${e.message}`);
  process.exit(1);
});
tcp.once('error', (e) => {
  console.error(`tcp: ${e.message}`);
  process.exit(1);
});
udp.bind({ address: addr, port, exclusive: true }, ready);
tcp.listen({ host: addr, port, exclusive: true }, ready);

const stop = () => {
  for (const s of sockets) s.destroy();
  udp.close();
  tcp.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
