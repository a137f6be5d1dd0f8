import { posix } from 'node:path';
import type { Change } from '../core/task.js';
import type { Playbook } from '../config/model.js';
import { MASK, Secret } from '../core/secret.js';
import { TaskFailure } from '../core/task.js';
import type { EnvRef } from '../config/model.js';
import { storageSettings } from '../config/storage.js';

/** distribution's http.secret setting; the replicas share one (tasks/replicas.ts). */
export const HTTP_SECRET_ENV = 'REGISTRY_HTTP_SECRET';

/** The playbook field a storage setting comes from, for messages about its value. */
function storageField(setting: string): string {
  if (setting === 'REGISTRY_STORAGE_S3_ACCESSKEY') return 'registry.storage.s3.accessKey';
  if (setting === 'REGISTRY_STORAGE_S3_SECRETKEY') return 'registry.storage.s3.secretKey';
  return 'registry.storage';
}

export const LABEL_CERT = 'regbook.cert-sha256';
export const LABEL_AUTH = 'regbook.auth-sha256';
export const LABEL_MANAGED = 'regbook.managed';
/** The names of the env settings whose values are secrets, so a diff never shows their old value. */
export const LABEL_SECRET_ENV = 'regbook.secret-env';

/** The registry container as the playbook wants it: the fields compared with `docker inspect`. */
export interface ContainerSpec {
  name: string;
  image: string;
  /** A Secret value (from `${env:…}`) reaches the daemon in a request's body, never in argv. */
  env: Record<string, string | Secret>;
  hostPort: number;
  /** The master's address the port is published on. */
  hostIp: string;
  binds: string[];
  restart: string;
  labels: Record<string, string>;
}

export function desiredContainer(
  pb: Playbook,
  certFingerprint: string,
  authSha?: string,
  secrets: ReadonlyMap<string, Secret> = new Map(),
  /** The replicas' shared http.secret, when regbook makes it (tasks/replicas.ts). */
  httpSecret?: Secret,
): ContainerSpec {
  const { registry, tls } = pb;
  const storage = registry.storage ?? { kind: 'filesystem' };
  const plain = tls.mode === 'none';
  const env: Record<string, string | Secret> = {
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
    // With s3 the images are in the bucket: no directory of the host is the registry's.
    ...(storage.kind === 'filesystem' ? [`${registry.dataDir}:/var/lib/registry`] : []),
  ];
  const labels: Record<string, string> = { [LABEL_MANAGED]: 'true', [LABEL_CERT]: certFingerprint };
  if (registry.auth) {
    env.REGISTRY_AUTH = 'htpasswd';
    env.REGISTRY_AUTH_HTPASSWD_REALM = 'regbook';
    env.REGISTRY_AUTH_HTPASSWD_PATH = '/auth/htpasswd';
    binds.push(`${registry.auth.file}:/auth/htpasswd:ro`);
    if (authSha) labels[LABEL_AUTH] = authSha;
  }
  const secretKeys: string[] = [];
  // The storage driver's settings (its keys from the environment), then the operator's own.
  const settings: Array<[string, string | EnvRef, string]> = [
    ...Object.entries(storageSettings(storage)).map(([k, v]): [string, string | EnvRef, string] => [
      k,
      v,
      storageField(k),
    ]),
    ...Object.entries(registry.env).map(([k, v]): [string, string | EnvRef, string] => [
      k,
      v,
      `registry.env.${k}`,
    ]),
  ];
  for (const [k, v, field] of settings) {
    if (typeof v === 'string') {
      env[k] = v;
      continue;
    }
    const secret = secrets.get(v.env);
    if (!secret) throw new TaskFailure(`no value for \${env:${v.env}} (${field})`);
    // A line break is almost always a file's trailing newline pasted into the variable, and would
    // reach the registry inside the setting; NUL cannot be in a process's environment at all.
    if (/[\r\n\0]/.test(secret.reveal()))
      throw new TaskFailure(
        `\${env:${v.env}} (${field}) holds a line break or NUL, which no container setting can carry`,
      );
    env[k] = secret;
    secretKeys.push(k);
  }
  if (httpSecret) {
    env[HTTP_SECRET_ENV] = httpSecret;
    secretKeys.push(HTTP_SECRET_ENV);
  }
  if (secretKeys.length > 0) labels[LABEL_SECRET_ENV] = secretKeys.sort().join(',');
  return {
    name: registry.name,
    image: registry.image,
    env,
    hostPort: registry.port,
    hostIp: registry.bind,
    binds,
    restart: registry.restart,
    labels,
  };
}

// docker records `-p PORT:5000` with an empty HostIp, which means every IPv4 interface: the
// default is rendered that way, so containers made before registry.bind existed still compare equal.
const ANY_IPV4 = '0.0.0.0';

/** `-p`'s host part: PORT for every interface, else IP:PORT ([IP]:PORT for IPv6). */
function publishedOn(ip: string | undefined, port: number | string | undefined): string {
  if (!ip || ip === ANY_IPV4) return String(port);
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
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
  // Secret values, now or when the container was made, are compared but shown only as masks.
  const wasSecret = new Set((actual.Config?.Labels?.[LABEL_SECRET_ENV] ?? '').split(',').filter(Boolean));
  for (const k of [...keys].sort()) {
    const want = spec.env[k];
    const from = env[k];
    if (want instanceof Secret || wasSecret.has(k)) {
      const to = want instanceof Secret ? want.reveal() : want;
      if (from !== to)
        changes.push({
          what: `container.env.${k}`,
          ...(from !== undefined ? { from: wasSecret.has(k) ? MASK : from } : {}),
          ...(want !== undefined ? { to: want instanceof Secret ? MASK : want } : {}),
          why: 'a secret setting differs',
        });
    } else add(`container.env.${k}`, from, want);
  }
  const binding = actual.HostConfig?.PortBindings?.['5000/tcp']?.[0];
  add(
    'container.ports.5000/tcp',
    binding?.HostPort === undefined ? undefined : publishedOn(binding.HostIp, binding.HostPort),
    publishedOn(spec.hostIp, spec.hostPort),
  );
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
