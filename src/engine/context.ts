import type { HostSpec, Inventory, Playbook } from '../config/model.js';
import type { Secret } from '../core/secret.js';
import type { Change, HandlerId, HostFacts, Step, TaskId } from '../core/task.js';
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
  /**
   * What a task started reading before its turn (TaskDef.readAhead, a stage's early gather), by
   * `task/host`, until the task takes it: per run, so two runs in one process never share one.
   */
  early: Map<string, Promise<unknown>>;
  /**
   * Told what each planned stage gathered on each host, before its plan is made: a reader of the
   * run (status) renders health from the very facts the plans decided from, without reading again.
   */
  gathered?(task: TaskId, host: string, facts: unknown): void;
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

/** What a gather reads through: the host's connection, and the run for what earlier tasks found. */
export interface GatherContext<S> {
  host: HostSpec;
  conn: Connection;
  run: RunContext<S>;
}

/** What a plan may look at besides its facts: the playbook, the host, what earlier tasks told. */
export interface PlanInput<S> {
  playbook: Playbook;
  inventory: Inventory;
  host: HostSpec;
  secrets: Map<string, Secret>;
  /** What earlier tasks of this run recorded (their plans' `record`), in check mode too. */
  shared: S;
  now: Date;
}

/**
 * What a task would do on a host: each change, and the steps that make them. Check mode reports
 * the changes and stops there; an apply runs the steps, then the handlers in `notify`.
 */
export interface Plan<S> {
  changes: Change[];
  steps: Step[];
  notify?: HandlerId[];
  /**
   * What later tasks learn from this one, merged into the run's shared state as soon as the plan
   * is made (before its steps). Values that only a step makes are Later values, pending until it
   * runs (and so for the whole of a check run).
   */
  record?: Partial<S>;
  /** The stage has nothing to do here on purpose, and says why ("registry not deployed yet"). */
  skipped?: string;
  /** A short line for the live view (e.g. "3 repositories"). */
  message?: string;
}

/** A stage in the gather → plan → apply shape: reads only, then decides without I/O. */
export interface PlannedStage<S, F> {
  /** The hosts this stage concerns; hosts it does not name are not reported for it. */
  hosts(run: RunContext<S>): string[];
  /** Reads what the plan decides from; changes nothing anywhere. A TaskFailure fails the host. */
  gather(ctx: GatherContext<S>): Promise<F>;
  /**
   * Pure: the same facts and input give the same plan, in check mode and in an apply alike. A
   * TaskFailure fails the host (a playbook the host cannot satisfy).
   */
  plan(facts: F, input: PlanInput<S>): Plan<S>;
  /**
   * Started on each of the stage's hosts as soon as the host's connection is up and the lock is
   * held, when no earlier task writes what it reads (first stage only).
   */
  gatherEarly?: boolean;
  /**
   * After the steps ran (never in check mode, never when there were none): waits until what they
   * started is ready (a registry answers), and fails the host when it never is.
   */
  settle?(ctx: HostContext<S>): Promise<void>;
  /** What the host's line says while `settle` waits, e.g. "waiting for the registry to answer". */
  settleDescribe?: string;
}

/** A unit of one task on a set of hosts. A task runs its stages one after the other. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Stage<S> = PlannedStage<S, any>;

export interface TaskDef<S, St extends Stage<S> = Stage<S>> {
  id: TaskId;
  /**
   * Stages run in order, each on all its hosts in parallel; e.g. images pushes on the master before
   * workers pull. A host's results over all stages are merged into one report per task.
   */
  stages: St[];
  /** Runs even when --tags does not name it (facts: later tasks need them). */
  always?: boolean;
  /**
   * Started on each host of the task's first stage as soon as that host's connection is up,
   * before facts, when the task is selected and the host is in --limit. Reads that no earlier
   * task can change, so the task need not wait for them. It must change nothing anywhere; the task
   * takes what it started on each host from `run.early` (engine/early.ts).
   */
  readAhead?(run: RunContext<S>, conn: Connection): void | Promise<unknown>;
}

export interface HandlerDef<S> {
  id: HandlerId;
  /** What the host's line says while it runs, e.g. "restarting docker" (default: its id). */
  describe?: string;
  /** Resolves `{ skipped }` when the handler left the host untouched on purpose (and why). */
  run(ctx: HostContext<S>): Promise<void | { skipped: string }>;
}
