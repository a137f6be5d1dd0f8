import type { Later } from '../core/later.js';
import type { Secret } from '../core/secret.js';
import type { HostContext, RunContext } from '../engine/context.js';
import type { RegistryClient } from '../registry/client.js';
import type { Connection } from '../transport/types.js';
import type { Rollout } from './trust/rollout.js';

/**
 * What the registry tasks tell each other during one run. In check mode nothing was written, so
 * a value that an apply would have produced is marked `pending` instead of guessed.
 */
export interface Shared {
  tls?: {
    /**
     * PEM that clients must trust: the CA (mode ca) or the server certificate (selfsigned);
     * pending while a new one is still to be made, absent when there is none (mode none).
     */
    anchorPem?: Later<string>;
    /** The anchor is (or, in check mode, would be) replaced in this run. */
    anchorChanged: boolean;
    /** SHA-256 fingerprint of the server certificate in place (NO_TLS in mode none). */
    serverFingerprint?: Later<string>;
    serverChanged: boolean;
    /**
     * The server certificate and key as the master holds them (or will, once made), for the
     * other replicas, which serve the same pair; absent when the tls task did not read them.
     */
    serverPair?: { cert: Later<string>; key: Later<Secret> };
  };
  /**
   * The registry's http.secret shared by every replica (uploads that start on one replica finish
   * on another): pending while a new one is still to be made. Absent with one replica, which
   * needs no shared secret, and when registry.env sets REGISTRY_HTTP_SECRET itself.
   */
  httpSecret?: Later<Secret>;
  auth?: {
    /**
     * sha256 of the htpasswd file in place, labelled on the container: pending while a new file
     * is still to be hashed; absent when there is no file and none is made.
     */
    fileSha?: Later<string>;
    /** The htpasswd file (bcrypt hashes only), for the other replicas; pending like fileSha. */
    content?: Later<string>;
    changed: boolean;
  };
  registry?: {
    /**
     * The registry answers /v2/ now, with the playbook's configuration, where the run's client
     * reaches it (registryRoute in api.ts): on the master itself when it is the one replica,
     * else through registry.address, which serves as long as one replica does.
     */
    serving: boolean;
    /** It is (or would be) created or recreated in this run, on some replica. */
    changed: boolean;
    /** Each replica the registry task planned for: whether it serves now, whether it changes. */
    replicas?: Record<string, { serving: boolean; changed: boolean }>;
  };
  /**
   * Hosts where this run has added or tagged images (never in check mode): the registry task
   * loading or pulling its own image, the images task's push stage loading, pulling and tagging.
   * The image list the facts round trip took is out of date there. Nothing else changes a host's
   * images: files, the container and a docker restart leave the list as it was.
   */
  imagesAdded?: Set<string>;
  /**
   * The run's registry API client, for the master connection and anchor it was made with: its
   * kept-alive TLS connection serves every request of the run (a new tunnel and handshake per
   * request would cost a round trip and a handshake each).
   */
  api?: { conn: Connection; anchor: string; client: RegistryClient };
  /** This run's docker restarts, made by the first host that restarts. */
  rollout?: Rollout;
  images?: {
    /** Image id (config digest) of each present image's source, by `repository:tag`, when known. */
    sourceIds: Map<string, string | undefined>;
    /** What each host that only pulls held at the start of the task: image id by reference. */
    held: Map<string, Map<string, string | undefined>>;
    /** Something in the registry is (or would be) pushed or deleted. */
    changed: boolean;
    /** Hosts whose pushes or deletes are planned and not made yet (in check mode, never made). */
    pending: Set<string>;
  };
}

export type Run = RunContext<Shared>;
export type Ctx = HostContext<Shared>;

export function masterName(run: Run): string {
  return run.inventory.master.name;
}

/** The hosts that run a registry container: registry.replicas, else the master alone. */
export function replicasOf(run: Pick<Run, 'playbook' | 'inventory'>): string[] {
  const listed = run.playbook.registry.replicas;
  return listed && listed.length > 0 ? listed : [run.inventory.master.name];
}

/**
 * Whether the registry is the master's own single container, as before replicas existed: then
 * the run reaches it on the master's loopback; otherwise through registry.address.
 */
export function singleOnMaster(run: Pick<Run, 'playbook' | 'inventory'>): boolean {
  const replicas = replicasOf(run);
  return replicas.length === 1 && replicas[0] === run.inventory.master.name;
}

/**
 * The registry state after one replica's plan (or its settle): the replica's own entry, and the
 * whole as the run's client sees it: it serves when one replica does (the master's own container
 * when it is the only one; registry.address balances over several). A replica this run does not
 * plan for (--limit, or its host unreachable) is taken as it was: serving.
 */
export function withReplicaState(
  all: readonly string[],
  prev: Shared['registry'],
  host: string,
  state: { serving: boolean; changed: boolean },
): NonNullable<Shared['registry']> {
  const replicas = { ...(prev?.replicas ?? {}), [host]: state };
  const states = Object.values(replicas);
  return {
    serving: states.some((s) => s.serving) || all.some((h) => !(h in replicas)),
    changed: states.some((s) => s.changed),
    replicas,
  };
}
