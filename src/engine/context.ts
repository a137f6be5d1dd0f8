import type { HostSpec, Inventory, Playbook } from '../config/model.js';
import type { Secret } from '../core/secret.js';
import type { HandlerId, HostFacts, TaskId, TaskResult } from '../core/task.js';
import type { Connection } from '../transport/types.js';

/** What every task on every host of one run can see. */
export interface RunContext<S> {
  playbook: Playbook;
  inventory: Inventory;
  check: boolean;
  diff: boolean;
  /** Live connections, by host name; a host that is unreachable or has failed is absent. */
  conns: Map<string, Connection>;
  /** Facts per host, filled in by the facts task. */
  facts: Map<string, HostFacts>;
  /** `${env:VAR}` values, resolved before any connection is opened. */
  secrets: Map<string, Secret>;
  /** What earlier tasks found or did, for later tasks (e.g. the certificate fingerprint). */
  shared: S;
  log(message: string, host?: string): void;
  debug(message: string, host?: string): void;
}

export interface HostContext<S> {
  host: HostSpec;
  conn: Connection;
  run: RunContext<S>;
  /** Queues a handler to run once on this host at the end of the current task. */
  notify(handler: HandlerId): void;
  /**
   * Says what this host is doing now ("restarting docker"), in the words of a Step's `describe`;
   * the live view shows it on the host's line while it lasts. Steps run by applySteps and handlers
   * are reported already; a long step of its own making (a rolling restart) calls it directly.
   */
  progress?(step: string): void;
  /**
   * Aborted when a signal stops the run: work not started yet must not start (applySteps checks
   * it between steps); a step in flight may finish.
   */
  signal?: AbortSignal;
}

/** A unit of one task on a set of hosts. A task runs its stages one after the other. */
export interface Stage<S> {
  /** The hosts this stage concerns; hosts it does not name are not reported for it. */
  hosts(run: RunContext<S>): string[];
  run(ctx: HostContext<S>): Promise<TaskResult>;
}

export interface TaskDef<S> {
  id: TaskId;
  /**
   * Stages run in order, each on all its hosts in parallel; e.g. images pushes on the master before
   * workers pull. A host's results over all stages are merged into one report per task.
   */
  stages: Stage<S>[];
  /** Runs even when --tags does not name it (facts: later tasks need them). */
  always?: boolean;
  /**
   * Started on each host of the task's first stage as soon as that host's connection is up,
   * before facts, when the task is selected and the host is in --limit. Reads that no earlier
   * task can change, so the task need not wait for them. It must change nothing anywhere; the task
   * awaits what it started on each host.
   */
  readAhead?(run: RunContext<S>, conn: Connection): void;
}

export interface HandlerDef<S> {
  id: HandlerId;
  /** What the host's line says while it runs, e.g. "restarting docker" (default: its id). */
  describe?: string;
  /** Resolves `{ skipped }` when the handler left the host untouched on purpose (and why). */
  run(ctx: HostContext<S>): Promise<void | { skipped: string }>;
}
