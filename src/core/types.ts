import type { HostScanRecord } from './scan-clock.js';

/** The outcome of one check. `error` means the check itself could not run; it never means "broken". */
export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'error';

/** How much a single finding matters. */
export type Severity = 'fail' | 'warn' | 'info';

/** The kinds of target a run can diagnose. */
export type TargetKind = 'chroot' | 'schroot' | 'nspawn' | 'pid' | 'self' | 'host';

/** One observation made by a check, with a stable kebab-case code and the evidence behind it. */
export interface Finding {
  code: string;
  severity: Severity;
  message: string;
  evidence: Record<string, unknown>;
}

/** Where a fix step acts: on the host, or inside the guest (paths resolved inside the guest root). */
export type StepWhere = 'host' | 'guest';

/**
 * How `undo` reverts a command step: a command to run (where the step ran), or, when nothing can
 * bring back what it changed, why (`undo` lists the step as not undoable, with this reason).
 */
export type ExecUndo = { argv: string[]; description: string } | { impossible: string };

/** Run a command inside the guest. `unless` is a command whose success means the step is already done. */
export interface GuestExecStep {
  kind: 'exec';
  where: 'guest';
  argv: string[];
  description: string;
  unless?: string[];
  /** How undo reverts it; without it, undo lists it as not undoable. */
  undo?: ExecUndo;
}

/**
 * Run a host command. A host command changes the host, so it must say how undo reverts it or why
 * nothing can (`undo`).
 */
export interface HostExecStep {
  kind: 'exec';
  where: 'host';
  argv: string[];
  description: string;
  unless?: string[];
  undo: ExecUndo;
}

/** Run a command, in the guest or on the host. */
export type ExecStep = GuestExecStep | HostExecStep;

/**
 * Write a whole file inside the guest atomically (temp file, then rename), backing up what was
 * there. Only in the guest: the engine writes through the in-root resolver, never on the host.
 */
export interface WriteStep {
  kind: 'write';
  where: 'guest';
  path: string;
  content: string;
  mode?: number;
  description: string;
}

/** Make the guest path `path` a symlink to `target`, backing up what was there. Only in the guest. */
export interface SymlinkStep {
  kind: 'symlink';
  where: 'guest';
  path: string;
  target: string;
  description: string;
}

/** Create a guest directory (and parents) with the given mode and owner. Only in the guest. */
export interface MkdirStep {
  kind: 'mkdir';
  where: 'guest';
  path: string;
  mode?: number;
  uid?: number;
  gid?: number;
  description: string;
}

/** Unmount one mount point. `makeRslave` first stops the unmount propagating to the host. */
export interface UmountStep {
  kind: 'umount';
  where: 'host';
  path: string;
  recursive: boolean;
  makeRslave: boolean;
  lazy: boolean;
  description: string;
}

/**
 * Mount on a guest directory (walked inside the guest root, no symlink followed) a tmpfs or a
 * host directory, through the descriptor of that directory: never by a path mount(8) resolves again.
 */
export interface MountStep {
  kind: 'mount';
  where: 'guest';
  path: string;
  source: { kind: 'tmpfs'; options: string } | { kind: 'bind'; hostPath: string };
  description: string;
}

/** Something a person has to do: a flag to add, a config line to change. */
export interface ManualStep {
  kind: 'manual';
  where: StepWhere;
  description: string;
  /** Exact text to paste: a command line, a config line, a unit file snippet. */
  snippet?: string;
}

/** One step of a fix plan. Steps are data: shown by `--dry-run`, written to JSON, applied by the engine. */
export type FixStep = ExecStep | WriteStep | SymlinkStep | MkdirStep | UmountStep | MountStep | ManualStep;

/** `safe` fixes are applied by `fix`; `unsafe` ones only with `--unsafe`; `manual` ones are advice. */
export type FixSafety = 'safe' | 'unsafe' | 'manual';

/** A fix: a named plan of steps that one engine applies. `Id` narrows the id to the declared ones. */
export interface Fix<Id extends string = string> {
  id: Id;
  title: string;
  safety: FixSafety;
  steps: FixStep[];
}

/** What a check comes to: its status, one-line summary, findings and fixes. */
export interface CheckOutcome {
  status: Status;
  summary: string;
  findings: Finding[];
  fixes: Fix[];
}

/** One result in the report. */
export interface CheckResult extends CheckOutcome {
  id: string;
  group: string;
  title: string;
  durationMs: number;
}

/** The JSON report, `schemaVersion` 1. */
export interface Report {
  schemaVersion: 1;
  tool: { name: 'ctr-doctor'; version: string };
  /** The machine ctr-doctor ran on (its hostname), so that a fleet summary can name it; absent in older reports. */
  host?: { name: string };
  target: { kind: TargetKind; name: string; root: string; pid: number | null };
  startedAt: string;
  durationMs: number;
  success: boolean;
  summary: Record<Status, number>;
  results: CheckResult[];
  /** The shared host scans of the run (process table, mount holders…) with their budgets; absent in older reports. */
  hostScans?: HostScanRecord[];
}
