import { posix } from 'node:path';
import type { Cmd } from '../core/cmd.js';
import type { Change } from '../core/task.js';
import type { Playbook } from '../config/model.js';

export const LABEL_CERT = 'regbook.cert-sha256';
export const LABEL_AUTH = 'regbook.auth-sha256';
export const LABEL_MANAGED = 'regbook.managed';

/** The registry container as the playbook wants it: the fields compared with `docker inspect`. */
export interface ContainerSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  hostPort: number;
  binds: string[];
  restart: string;
  labels: Record<string, string>;
}

export function desiredContainer(pb: Playbook, certFingerprint: string, authSha?: string): ContainerSpec {
  const { registry, tls } = pb;
  const plain = tls.mode === 'none';
  const env: Record<string, string> = {
    REGISTRY_HTTP_ADDR: '0.0.0.0:5000',
    ...(plain
      ? {}
      : {
          REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/server.crt',
          REGISTRY_HTTP_TLS_KEY: '/certs/server.key',
          // distribution 2.8 defaults to TLS 1.0; nothing that speaks to a registry today needs below 1.2.
          REGISTRY_HTTP_TLS_MINIMUMTLS: 'tls1.2',
        }),
    REGISTRY_STORAGE_DELETE_ENABLED: String(registry.deleteEnabled),
  };
  // Only the server's pair is mounted, file by file: the CA key never enters the container.
  // A new certificate is a new file (atomic rename), which is why it recreates the container.
  const binds = [
    ...(plain
      ? []
      : [
          `${posix.join(tls.dir, 'server.crt')}:/certs/server.crt:ro`,
          `${posix.join(tls.dir, 'server.key')}:/certs/server.key:ro`,
        ]),
    `${registry.dataDir}:/var/lib/registry`,
  ];
  const labels: Record<string, string> = { [LABEL_MANAGED]: 'true', [LABEL_CERT]: certFingerprint };
  if (registry.auth) {
    env.REGISTRY_AUTH = 'htpasswd';
    env.REGISTRY_AUTH_HTPASSWD_REALM = 'regbook';
    env.REGISTRY_AUTH_HTPASSWD_PATH = '/auth/htpasswd';
    binds.push(`${registry.auth.file}:/auth/htpasswd:ro`);
    if (authSha) labels[LABEL_AUTH] = authSha;
  }
  Object.assign(env, registry.env);
  return {
    name: registry.name,
    image: registry.image,
    env,
    hostPort: registry.port,
    binds,
    restart: registry.restart,
    labels,
  };
}

export function runCmd(spec: ContainerSpec): Cmd {
  const argv = [
    'docker',
    'run',
    '-d',
    '--name',
    spec.name,
    '--restart',
    spec.restart,
    '-p',
    `${spec.hostPort}:5000`,
  ];
  for (const b of spec.binds) argv.push('-v', b);
  for (const [k, v] of Object.entries(spec.env)) argv.push('-e', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.labels)) argv.push('--label', `${k}=${v}`);
  argv.push(spec.image);
  return { argv, privileged: true };
}

/** The part of `docker container inspect` output that regbook compares. */
export interface Inspected {
  Image?: string;
  Config?: { Image?: string; Env?: string[] | null; Labels?: Record<string, string> | null };
  HostConfig?: {
    Binds?: string[] | null;
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    RestartPolicy?: { Name?: string };
  };
  State?: { Running?: boolean; Status?: string };
}

function envMap(env: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/**
 * Field-by-field differences between the running container and the spec. Labels are compared
 * only for the keys regbook sets (a pending certificate is marked by `pendingLabels`), env only
 * for REGISTRY_* (the image's own PATH and friends are not ours).
 */
export function diffContainer(
  spec: ContainerSpec,
  actual: Inspected,
  imageId: string | undefined,
  pendingLabels: Record<string, string> = {},
): Change[] {
  const changes: Change[] = [];
  const add = (what: string, from: string | undefined, to: string | undefined) => {
    if (from !== to)
      changes.push({ what, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
  };
  add('container.image', actual.Config?.Image, spec.image);
  if (imageId && actual.Image && actual.Image !== imageId) {
    changes.push({
      what: 'container.image id',
      from: actual.Image,
      to: imageId,
      why: 'the image was replaced',
    });
  }
  const env = envMap(actual.Config?.Env);
  const keys = new Set([
    ...Object.keys(spec.env),
    ...Object.keys(env).filter((k) => k.startsWith('REGISTRY_')),
  ]);
  for (const k of [...keys].sort()) add(`container.env.${k}`, env[k], spec.env[k]);
  const binding = actual.HostConfig?.PortBindings?.['5000/tcp']?.[0]?.HostPort;
  add('container.ports.5000/tcp', binding, String(spec.hostPort));
  add(
    'container.mounts',
    [...(actual.HostConfig?.Binds ?? [])].sort().join(', '),
    [...spec.binds].sort().join(', '),
  );
  add('container.restart', actual.HostConfig?.RestartPolicy?.Name, spec.restart);
  const labels = actual.Config?.Labels ?? {};
  for (const [k, v] of Object.entries(spec.labels)) add(`container.labels.${k}`, labels[k], v);
  for (const [k, v] of Object.entries(pendingLabels)) {
    changes.push({ what: `container.labels.${k}`, ...(labels[k] ? { from: labels[k] } : {}), to: v });
  }
  return changes;
}
