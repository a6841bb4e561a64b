/**
 * The probes' vocabulary: what a check may ask a probe (run in the guest's network namespace,
 * with the guest root as its working directory) and what it answers. Pure data, shared by the
 * Target port (core), the probe client and the probe child (guest).
 */
import type { ApiFsRequest, ApiFsResponse } from './api-fs-types.js';
/** Credentials a probe drops to before touching the guest. */
export interface ProbeCredentials {
  uid: number;
  gid: number;
  groups: number[];
}

/** Socket errno names a probe reports as-is (ENOENT, ECONNREFUSED, EACCES, ETIMEDOUT…). */
export type SocketErrno = string;

export interface DnsQueryRequest {
  /** IPv4 or IPv6 address of the nameserver. */
  server: string;
  port?: number;
  name: string;
  type: 'A' | 'AAAA';
  /** Time for one attempt. */
  timeoutMs: number;
  attempts: number;
  /** `fallback`: UDP, then TCP when truncated; `tcp`: TCP only. */
  transport: 'fallback' | 'tcp';
}

/** What one nameserver said to one question. */
export type DnsVerdict =
  'answer' | 'nodata' | 'nxdomain' | 'refused' | 'servfail' | 'other-rcode' | 'timeout' | 'unreachable' | 'bad-response';

export interface DnsQueryResponse {
  verdict: DnsVerdict;
  rcode: string | null;
  addresses: string[];
  /** The transport that produced the verdict. */
  transport: 'udp' | 'tcp';
  /** The UDP answer had the TC bit and the query was retried over TCP. */
  truncatedOverUdp: boolean;
  elapsedMs: number;
  /** For timeout/unreachable/bad-response: the errno or the reason (wrong id, question mismatch…). */
  detail: string | null;
}

export interface UnixConnectRequest {
  /** A guest path (resolved inside the root as root before the probe connects) or an abstract name (no leading @). */
  path?: string;
  abstract?: string;
  timeoutMs: number;
}

export interface UnixConnectResponse {
  ok: boolean;
  errno: SocketErrno | null;
  message: string;
  /** For path sockets: the guest path after following symlinks inside the root. */
  resolvedPath: string | null;
}

export interface X11SetupRequest {
  /** `unix` path inside the guest, abstract name, or TCP (in the guest's netns). */
  socket: { path?: string; abstract?: string; host?: string; port?: number };
  /** The cookie to present; null presents no authorisation. */
  auth: { name: string; dataHex: string } | null;
  timeoutMs: number;
}

export type X11SetupResponse =
  | { ok: true; vendor: string; release: number; screens: { width: number; height: number }[]; elapsedMs: number }
  | {
      ok: false;
      /** `connect`: the socket refused; `setup`: the server answered the setup with a failure; `silent`: no answer. */
      stage: 'connect' | 'setup' | 'silent' | 'closed';
      errno: SocketErrno | null;
      /** The server's own reason, e.g. "Invalid MIT-MAGIC-COOKIE-1 key". */
      reason: string;
      elapsedMs: number;
    };

export interface PulseConnectRequest {
  socket: { path?: string; host?: string; port?: number };
  /** 256-byte cookie, hex, or null when none was found. */
  cookieHex: string | null;
  timeoutMs: number;
  /** After AUTH, also ask GET_SERVER_INFO: the server's name says whether it is pipewire-pulse. */
  serverInfo?: boolean;
}

/** What GET_SERVER_INFO answered: `name` is "pulseaudio" for PulseAudio, "PulseAudio (on PipeWire 0.3.65)" for pipewire-pulse. */
export type PulseServerInfo = { ok: true; name: string; version: string } | { ok: false; reason: string };

export type PulseConnectResponse =
  | { ok: true; stage: 'auth'; protocolVersion: number; elapsedMs: number; server?: PulseServerInfo }
  | { ok: false; stage: 'connect' | 'auth' | 'silent' | 'closed'; errno: SocketErrno | null; reason: string; elapsedMs: number };

export interface TcpConnectRequest {
  host: string;
  port: number;
  timeoutMs: number;
}

export interface TcpConnectResponse {
  ok: boolean;
  errno: SocketErrno | null;
  elapsedMs: number;
}

/** Read a guest file with the probe child's rights (the desktop user's: `asUser`), walked inside the root. */
export interface ReadFileRequest {
  /** Guest path. */
  path: string;
  /** At most this many bytes (capped at 1 MiB). */
  maxBytes: number;
}

export type ReadFileResponse =
  | { ok: true; dataBase64: string; truncated: boolean; uid: number; gid: number; mode: number; size: number }
  | {
      ok: false;
      reason: 'missing' | 'dangling-symlink' | 'symlink-loop' | 'not-a-file' | 'permission' | 'too-large' | 'io';
      message: string;
    };

/** Connect to a D-Bus socket and say Hello (AUTH EXTERNAL with `uid`, BEGIN, Hello). */
export interface DbusHelloRequest {
  /** A guest path or an abstract name (no leading @). */
  socket: { path?: string; abstract?: string };
  /** The uid the client states in AUTH EXTERNAL: the guest user's, as a client in the guest would. */
  uid: number;
  timeoutMs: number;
}

export type DbusHelloResponse =
  | { ok: true; stage: 'hello'; name: string; guid: string; elapsedMs: number }
  | {
      ok: false;
      stage: 'connect' | 'auth' | 'denied' | 'hello' | 'silent' | 'closed';
      errno: SocketErrno | null;
      reason: string;
      elapsedMs: number;
    };

/** Connect to a Wayland socket and do wl_display.get_registry + sync. */
export interface WaylandRegistryRequest {
  socket: { path: string };
  timeoutMs: number;
}

export type WaylandRegistryResponse =
  | { ok: true; stage: 'sync'; globals: string[]; globalCount: number; elapsedMs: number }
  | { ok: false; stage: 'connect' | 'protocol' | 'silent' | 'closed'; errno: SocketErrno | null; reason: string; elapsedMs: number };

/** Connect to a PipeWire native socket and do Core::Hello + Core::Sync: the core's info event, then done. */
export interface PipewireCoreRequest {
  socket: { path: string };
  timeoutMs: number;
}

/** The core's own description, from its info event. */
export interface PipewireCoreInfo {
  /** The context's name, e.g. "pipewire-0". */
  name: string;
  /** The server's library version, e.g. "0.3.65". */
  version: string;
  userName: string;
  hostName: string;
  cookie: number;
}

export type PipewireCoreResponse =
  | { ok: true; stage: 'sync'; core: PipewireCoreInfo; elapsedMs: number }
  /** `error`: the core answered with an error event (e.g. access denied); `protocol`: not PipeWire's wire format. */
  | {
      ok: false;
      stage: 'connect' | 'error' | 'protocol' | 'silent' | 'closed';
      errno: SocketErrno | null;
      reason: string;
      elapsedMs: number;
    };
/**
 * MIT-SHM as the guest's X clients meet it: the X11 setup, QueryExtension("MIT-SHM"), QueryVersion,
 * and ShmAttach of a segment made in the guest's IPC namespace, with a round trip.
 */
export interface X11MitShmRequest {
  /** A guest path or an abstract name (no leading @). */
  socket: { path?: string; abstract?: string };
  auth: { name: string; dataHex: string } | null;
  /** The System V segment to attach (read-only); null asks only whether the extension is there. */
  shmid: number | null;
  timeoutMs: number;
}

/** The server's answer to ShmAttach: attached, or its X error (BadAccess is 10). */
export type ShmAttachAnswer = { ok: true } | { ok: false; errorCode: number; error: string; majorOpcode: number; minorOpcode: number };

export type X11MitShmResponse =
  | {
      ok: true;
      vendor: string;
      /** The server offers MIT-SHM (QueryExtension). */
      present: boolean;
      majorOpcode: number | null;
      /** QueryVersion's `major.minor`, null when absent. */
      version: string | null;
      sharedPixmaps: boolean | null;
      /** Null when no segment was given or the extension is absent. */
      attach: ShmAttachAnswer | null;
      elapsedMs: number;
    }
  | Extract<X11SetupResponse, { ok: false }>;

/** Make and remove a directory of a random name in a guest directory, with the probe child's rights (the desktop user's: `asUser`). */
export interface DirWriteRequest {
  /** Guest path of the directory, walked inside the root. */
  path: string;
}

export type DirWriteResponse =
  | { ok: true; guestPath: string }
  /** `walk`: the directory could not be reached (or is none); `mkdir`: creating failed; `rmdir`: made but not removed. */
  | { ok: false; stage: 'walk' | 'mkdir' | 'rmdir'; errno: string; message: string };

/** Request type for each probe name. */
export interface ProbeRequests {
  'dns-query': DnsQueryRequest;
  'unix-connect': UnixConnectRequest;
  'x11-setup': X11SetupRequest;
  'pulse-connect': PulseConnectRequest;
  'tcp-connect': TcpConnectRequest;
  'api-fs': ApiFsRequest;
  'read-file': ReadFileRequest;
  'dbus-hello': DbusHelloRequest;
  'wayland-registry': WaylandRegistryRequest;
  'pipewire-core': PipewireCoreRequest;
  'x11-mitshm': X11MitShmRequest;
  'dir-write': DirWriteRequest;
}

/** Response type for each probe name. */
export interface ProbeResponses {
  'dns-query': DnsQueryResponse;
  'unix-connect': UnixConnectResponse;
  'x11-setup': X11SetupResponse;
  'pulse-connect': PulseConnectResponse;
  'tcp-connect': TcpConnectResponse;
  'api-fs': ApiFsResponse;
  'read-file': ReadFileResponse;
  'dbus-hello': DbusHelloResponse;
  'wayland-registry': WaylandRegistryResponse;
  'pipewire-core': PipewireCoreResponse;
  'x11-mitshm': X11MitShmResponse;
  'dir-write': DirWriteResponse;
}

export type ProbeName = keyof ProbeRequests;
