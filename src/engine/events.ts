import type { Change, TaskId, TaskStatus } from '../core/task.js';

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  /** Present only on a host whose task a signal cut short: neither failed nor finished. */
  interrupted?: number;
}

/** A task's outcome on a host as events report it: a signal can cut a task short on a host. */
export type EventStatus = TaskStatus | 'interrupted';

/** SIGINT, SIGTERM or SIGHUP: the three that stop a run cleanly. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/**
 * Everything the engine has to say is one of these. The live tree, plain lines and NDJSON are three
 * consumers of the same stream, so they cannot disagree.
 */
export type EngineEvent =
  | { type: 'start'; hosts: string[]; tasks: TaskId[]; check: boolean }
  | { type: 'connect'; host: string; status: 'ok' | 'unreachable'; message?: string }
  | { type: 'task-start'; task: TaskId; hosts: string[] }
  | { type: 'host-task-start'; task: TaskId; host: string }
  | {
      type: 'task';
      host: string;
      task: TaskId;
      status: EventStatus;
      changes: Change[];
      message?: string;
      detail?: string;
      durationMs: number;
    }
  | { type: 'task-end'; task: TaskId; durationMs?: number }
  /**
   * A step (or a handler) starts on a host: the Step's own `describe` text, so a long one can be
   * named on the host's line while it runs. Superseded by the host's next progress or result.
   */
  | { type: 'progress'; host: string; task: TaskId; step: string; handler?: string }
  | {
      type: 'handler';
      host: string;
      handler: string;
      status: 'ok' | 'failed' | 'skipped' | 'interrupted';
      message?: string;
      durationMs?: number;
    }
  | { type: 'log'; host?: string; level: 'info' | 'debug'; message: string }
  /** A signal arrived: no new work starts; what is in flight finishes or is cut. */
  | { type: 'interrupt'; signal: StopSignal }
  | {
      type: 'recap';
      hosts: Record<string, HostCounts>;
      durationMs?: number;
      /** The signal that cut the run short, if one did. */
      interrupted?: StopSignal;
    };

export type Emit = (e: EngineEvent) => void;

export function emptyCounts(): HostCounts {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
}
