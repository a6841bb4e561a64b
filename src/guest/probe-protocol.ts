/**
 * Probes run in a child process placed in the guest's network namespace (nsenter --net),
 * with the guest root as its working directory, optionally dropping to the desktop user.
 * Requests and responses are JSON; a probe never throws across this boundary.
 */
import type { PreparedSocket } from './probe-socket-plan.js';
import type { ProbeCredentials, ProbeName, ProbeRequests, ProbeResponses } from '../core/probe-types.js';

/** The envelope sent to the probe process. */
export interface ProbeEnvelope<K extends ProbeName = ProbeName> {
  name: K;
  request: ProbeRequests[K];
  /** Drop to these credentials after resolving paths as root. */
  credentials: ProbeCredentials | null;
}

/** What the probe process prints: a response, or why it could not run. */
export type ProbeReply<K extends ProbeName = ProbeName> = { ok: true; response: ProbeResponses[K] } | { ok: false; error: string };

/**
 * One request to a pooled probe child (`probe-main.js --serve`): one JSON line on its stdin.
 * The child already runs as the user it was started for, so socket paths come resolved.
 */
export interface ProbeServeRequest<K extends ProbeName = ProbeName> {
  id: number;
  name: K;
  request: ProbeRequests[K];
  /** For socket probes: the socket resolved inside the guest root by the parent (as root). */
  socket: PreparedSocket | null;
  /** Which of the child's guest roots (`--roots=N`: descriptors 3…3+N-1) the request is about; default 0. */
  root?: number;
}

/** One line on a pooled child's stdout: the reply to request `id`. */
export type ProbeServeReply<K extends ProbeName = ProbeName> = ProbeReply<K> & { id: number };
