import type { Cmd } from './cmd.js';
import type { Later } from './later.js';
import type { Connection } from '../transport/types.js';

export const TASK_IDS = ['facts', 'tls', 'auth', 'registry', 'trust', 'images', 'verify'] as const;
export type TaskId = (typeof TASK_IDS)[number];
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** One difference between what is and what the playbook asks, for --diff and the JSON output. */
export interface Change {
  /** What differs, e.g. `container.env.REGISTRY_HTTP_ADDR`, `server.crt`, `/etc/docker/certs.d/...`. */
  what: string;
  from?: string;
  to?: string;
  /** Why, in words (e.g. "certificate expires in 12 days (renewBeforeDays: 30)"). */
  why?: string;
}

/** A side effect, as data, so check mode can list it without running it. */
export type Step =
  | { kind: 'exec'; describe: string; cmd: Cmd }
  | {
      kind: 'write';
      describe: string;
      path: string;
      /** A Later value is made by an earlier step of the same plan (a new certificate). */
      data: Buffer | string | Later<string>;
      mode: number;
      privileged?: boolean;
      /** Make the parent directory (this mode) if missing, in the same round trip as the write. */
      dirMode?: number;
    }
  | { kind: 'fn'; describe: string; run: (conn: Connection) => Promise<void> }
  /** Independent sequences of steps run at the same time, each over its own SSH channel. */
  | { kind: 'parallel'; describe: string; lanes: Step[][] };

export interface HostFacts {
  osFamily: 'debian' | 'rhel' | 'unknown';
  osId: string;
  osVersion: string;
  dockerPresent: boolean;
  dockerRunning: boolean;
  /** The host's images as the facts round trip listed them (facts/images.ts); empty when not running. */
  images: ReadonlyMap<string, string>;
  /** Root already, or `sudo -n true` works on a become host. */
  privileged: boolean;
  /** /tmp/regbook-docker.* directories (docker logins of older versions) found on the host. */
  staleLogins?: readonly string[];
  /** The host holds trust files regbook wrote (its record lists some, or its naming marks one). */
  trustLeftovers?: boolean;
}

export type HandlerId = 'restart-docker';

/** What a task run on a host returns; a failure is thrown as TaskFailure. */
export interface TaskResult {
  status: 'ok' | 'changed' | 'skipped';
  changes: Change[];
  /** A short line for the live view and plain output (e.g. "skipped: registry not deployed yet"). */
  message?: string;
}

/** A task failed on a host: the host stops, the others go on, exit code 2. */
export class TaskFailure extends Error {
  constructor(
    message: string,
    /** Extra lines shown under the failure (e.g. a container's last log lines). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'TaskFailure';
  }
}
