import type { Change, TaskId, TaskStatus } from '../core/task.js';

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
}

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
      status: TaskStatus;
      changes: Change[];
      message?: string;
      detail?: string;
      durationMs: number;
    }
  | { type: 'task-end'; task: TaskId }
  | { type: 'handler'; host: string; handler: string; status: 'ok' | 'failed' | 'skipped'; message?: string }
  | { type: 'log'; host?: string; level: 'info' | 'debug'; message: string }
  | { type: 'recap'; hosts: Record<string, HostCounts> };

export type Emit = (e: EngineEvent) => void;

export function emptyCounts(): HostCounts {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
}
