import dgram from 'node:dgram';
import net from 'node:net';
import type { DnsQueryRequest, DnsQueryResponse, DnsVerdict } from '../../core/probe-types.js';
import { buildDnsQuery, decodeDnsResponse, frameTcp, readTcpFrame, type DnsDecode } from '../../parse/dns-response.js';
import { connectSocket, errnoOf } from './socket-connect.js';

type Answer = Extract<DnsDecode, { ok: true }>;
type Rejection = Extract<DnsDecode, { ok: false }>;

/** How one exchange ended. `ignored` remembers the last unusable packet seen before a timeout. */
type Exchange =
  | { kind: 'answer'; answer: Answer }
  | { kind: 'unreachable'; errno: string }
  | { kind: 'timeout'; ignored: string | null }
  | { kind: 'bad'; detail: string };

interface Question {
  server: string;
  port: number;
  name: string;
  type: 'A' | 'AAAA';
  timeoutMs: number;
}

/** A fresh 16-bit query id. Math.random, not node:crypto: a diagnosis needs no spoofing defence, and it starts faster. */
function queryId(): number {
  return Math.floor(Math.random() * 0x10000);
}

/** A TCP answer is one length-prefixed message: never buffer more than 2 + 65535 bytes. */
const MAX_TCP_BYTES = 2 + 0xffff;

/** Short, stable labels for packets that do not answer our question. */
function rejectionLabel(rejection: Rejection): string {
  return { malformed: 'malformed', 'wrong-id': 'wrong id', 'not-a-response': 'not a response', 'question-mismatch': 'question mismatch' }[
    rejection.reason
  ];
}

function verdictOf(answer: Answer): DnsVerdict {
  switch (answer.rcode) {
    case 'NOERROR':
      return answer.addresses.length > 0 ? 'answer' : 'nodata';
    case 'NXDOMAIN':
      return 'nxdomain';
    case 'REFUSED':
      return 'refused';
    case 'SERVFAIL':
      return 'servfail';
    default:
      return 'other-rcode';
  }
}

/** One UDP query on a connected socket, so an ICMP port-unreachable comes back as ECONNREFUSED. */
function udpExchange(q: Question): Promise<Exchange> {
  const id = queryId();
  const query = buildDnsQuery(id, q.name, q.type);
  const socket = dgram.createSocket(net.isIPv6(q.server) ? 'udp6' : 'udp4');
  let ignored: string | null = null;
  return new Promise((resolve) => {
    const finish = (exchange: Exchange): void => {
      clearTimeout(timer);
      socket.removeAllListeners('message');
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      resolve(exchange);
    };
    const timer = setTimeout(() => {
      finish({ kind: 'timeout', ignored });
    }, q.timeoutMs);
    socket.on('error', (error) => {
      finish({ kind: 'unreachable', errno: errnoOf(error) });
    });
    socket.on('message', (message: Buffer) => {
      const decoded = decodeDnsResponse(message, { id, name: q.name, type: q.type });
      // A stray or forged packet must not end the wait: the real answer may still come.
      if (!decoded.ok) ignored = rejectionLabel(decoded);
      else finish({ kind: 'answer', answer: decoded });
    });
    // Without a callback, a failed connect() arrives as 'error' like the rest.
    socket.once('connect', () => {
      socket.send(query, (error) => {
        if (error) finish({ kind: 'unreachable', errno: errnoOf(error) });
      });
    });
    socket.connect(q.port, q.server);
  });
}

/** One query over TCP: a length-prefixed message each way. */
async function tcpExchange(q: Question): Promise<Exchange> {
  const started = performance.now();
  const id = queryId();
  const query = frameTcp(buildDnsQuery(id, q.name, q.type));
  const connected = await connectSocket({ kind: 'tcp', host: q.server, port: q.port }, q.timeoutMs);
  if (!connected.ok) {
    return connected.errno === 'ETIMEDOUT' ? { kind: 'timeout', ignored: null } : { kind: 'unreachable', errno: connected.errno };
  }
  const socket = connected.socket;
  const chunks: Buffer[] = [];
  let received = 0;
  return new Promise((resolve) => {
    const finish = (exchange: Exchange): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(exchange);
    };
    const timer = setTimeout(
      () => {
        finish({ kind: 'timeout', ignored: null });
      },
      Math.max(1, q.timeoutMs - (performance.now() - started)),
    );
    socket.on('data', (chunk: Buffer) => {
      if (received < MAX_TCP_BYTES) {
        chunks.push(chunk.subarray(0, MAX_TCP_BYTES - received));
        received += Math.min(chunk.length, MAX_TCP_BYTES - received);
      }
      const frame = readTcpFrame(chunks);
      if (!frame) return;
      const decoded = decodeDnsResponse(frame, { id, name: q.name, type: q.type });
      finish(decoded.ok ? { kind: 'answer', answer: decoded } : { kind: 'bad', detail: rejectionLabel(decoded) });
    });
    socket.on('error', (error) => {
      finish({ kind: 'unreachable', errno: errnoOf(error) });
    });
    socket.on('close', () => {
      finish({ kind: 'bad', detail: received === 0 ? 'connection closed without an answer' : 'connection closed mid-answer' });
    });
    socket.write(query);
  });
}

/** Repeats an exchange on timeouts, up to `attempts` times; keeps the last ignored packet. */
async function withRetries(attempts: number, exchange: () => Promise<Exchange>): Promise<Exchange> {
  let ignored: string | null = null;
  for (let attempt = 1; ; attempt++) {
    const result = await exchange();
    if (result.kind !== 'timeout') return result;
    ignored = result.ignored ?? ignored;
    if (attempt >= attempts) return { kind: 'timeout', ignored };
  }
}

/**
 * Asks one nameserver one A/AAAA question from the current network namespace: UDP with
 * retries, then TCP when the answer is truncated (or TCP only when asked).
 * Throws only for a name DNS cannot carry (ParseError from buildDnsQuery).
 */
export async function probeDnsQuery(request: DnsQueryRequest): Promise<DnsQueryResponse> {
  // A name here would send the host's resolver a query from the guest's namespace.
  if (net.isIP(request.server) === 0) throw new Error(`nameserver "${request.server}" is not an IP address`);
  const started = performance.now();
  const q: Question = {
    server: request.server,
    port: request.port ?? 53,
    name: request.name,
    type: request.type,
    timeoutMs: request.timeoutMs,
  };
  const attempts = Math.max(1, Math.floor(request.attempts));
  let transport: 'udp' | 'tcp' = request.transport === 'tcp' ? 'tcp' : 'udp';
  let truncatedOverUdp = false;

  let result = await withRetries(attempts, () => (transport === 'tcp' ? tcpExchange(q) : udpExchange(q)));
  if (result.kind === 'answer' && result.answer.truncated && transport === 'udp') {
    truncatedOverUdp = true;
    transport = 'tcp';
    result = await withRetries(1, () => tcpExchange(q));
  }

  const base = { transport, truncatedOverUdp, elapsedMs: Math.round(performance.now() - started) };
  switch (result.kind) {
    case 'answer':
      return { ...base, verdict: verdictOf(result.answer), rcode: result.answer.rcode, addresses: result.answer.addresses, detail: null };
    case 'unreachable':
      return { ...base, verdict: 'unreachable', rcode: null, addresses: [], detail: result.errno };
    case 'bad':
      return { ...base, verdict: 'bad-response', rcode: null, addresses: [], detail: result.detail };
    case 'timeout':
      // A server that only ever sent unusable packets is broken, not silent.
      if (result.ignored) return { ...base, verdict: 'bad-response', rcode: null, addresses: [], detail: result.ignored };
      return { ...base, verdict: 'timeout', rcode: null, addresses: [], detail: `no answer after ${attempts} × ${q.timeoutMs} ms` };
  }
}
