/** Fake nameservers on loopback for the DNS probe tests: UDP and TCP on one port. */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

/** What the fake does with one query: a reply (bytes), or nothing. */
export type Responder = (query: dnsPacket.DecodedPacket, raw: Buffer) => Buffer | Buffer[] | null;

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** A response to `query` with the given rcode, answers and flags. */
export function reply(
  query: dnsPacket.DecodedPacket,
  opts: { rcode?: number; addresses?: string[]; truncated?: boolean; id?: number } = {},
): Buffer {
  const q = query.questions?.[0];
  const flags =
    dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (opts.truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | (opts.rcode ?? 0);
  return dnsPacket.encode({
    type: 'response',
    id: opts.id ?? query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: (opts.addresses ?? []).map((data) => ({
      type: q?.type === 'AAAA' ? 'AAAA' : 'A',
      name: q?.name ?? '',
      ttl: 60,
      data,
    })) as dnsPacket.Answer[],
  });
}

export interface FakeDns {
  port: number;
  udpQueries: number;
  tcpQueries: number;
  close(): Promise<void>;
}

/** Starts a UDP fake (and a TCP one on the same port when `tcp` is given) on `host`. */
export async function startFakeDns(host: string, udp: Responder | null, tcp?: Responder): Promise<FakeDns> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  const fake: FakeDns = { port: socket.address().port, udpQueries: 0, tcpQueries: 0, close: async () => undefined };
  socket.on('message', (raw, from) => {
    fake.udpQueries++;
    const out = udp?.(dnsPacket.decode(raw), raw);
    for (const packet of out === null || out === undefined ? [] : Array.isArray(out) ? out : [out]) {
      socket.send(packet, from.port, from.address);
    }
  });
  let server: net.Server | null = null;
  if (tcp) {
    server = net.createServer((conn) => {
      let buf = Buffer.alloc(0);
      conn.on('error', () => undefined);
      conn.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        fake.tcpQueries++;
        const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
        const out = tcp(dnsPacket.decode(raw), raw);
        if (out === null) return;
        for (const packet of Array.isArray(out) ? out : [out]) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(packet.length);
          conn.write(Buffer.concat([len, packet]));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(fake.port, host, () => resolve());
    });
  }
  fake.close = async () => {
    socket.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
  };
  return fake;
}

/** A loopback UDP port with nothing bound to it (bound, then released). */
export async function closedUdpPort(host: string): Promise<number> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
