import type { HandlerDef, TaskDef } from '../engine/context.js';
import { authStage } from './auth.js';
import { factsTask } from './facts.js';
import { imagesTask } from './images.js';
import { registryTask } from './registry.js';
import type { Shared } from './shared.js';
import { httpSecretStage, replicaAuthStage, replicaCertStage } from './replicas.js';
import { tlsStage } from './tls.js';
import { restartDockerHandler, trustTask } from './trust.js';
import { verifyTask } from './verify.js';

/**
 * tls: the master's certificate first; then what the registry replicas share: the http.secret,
 * and the same certificate and key on every other replica.
 */
export const tlsTask: TaskDef<Shared> = { id: 'tls', stages: [tlsStage, httpSecretStage, replicaCertStage] };

/** auth: the htpasswd file on the master, then the same file on every other replica. */
export const authTask: TaskDef<Shared> = { id: 'auth', stages: [authStage, replicaAuthStage] };

/** The registry playbook's tasks, in order: each needs what the ones before it made (docs/tasks.md). */
export const TASKS: TaskDef<Shared>[] = [
  factsTask,
  tlsTask,
  authTask,
  registryTask,
  trustTask,
  imagesTask,
  verifyTask,
];
export const HANDLERS: HandlerDef<Shared>[] = [restartDockerHandler];
