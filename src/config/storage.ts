// Where the registry keeps its images (registry.storage) and which hosts run it (registry.replicas),
// and the rules that tie them together: several replicas behind one address must share their
// storage, so each sees what another stored; an S3 bucket needs its fields and keeps its keys secret.
import { envRefName, sanCovers, sanForHost } from './grammar.js';
import type { EnvRef, Inventory, S3Storage, StorageConfig } from './model.js';
import { isWritten, positionOf, type PositionSource, type Segment } from './positions.js';

type Problem = (path: Segment[], message: string) => void;

/** registry.storage and registry.replicas as the schema guarantees them, defaults filled in. */
export interface RawStorage {
  storage: 'filesystem' | { s3: RawS3 };
  replicas?: string[];
}

interface RawS3 {
  endpoint?: string;
  bucket: string;
  region: string;
  secure?: boolean;
  skipVerify: boolean;
  v4auth: boolean;
  rootDirectory?: string;
  chunkSize?: number;
  storageClass?: 'STANDARD' | 'REDUCED_REDUNDANCY';
  redirect: boolean;
  encrypt: boolean;
  accessKey: string;
  secretKey: string;
}

const S3_PATH: Segment[] = ['registry', 'storage', 's3'];

/** The storage model; the keys' env names go to envRefs, so apply names a missing one early. */
export function normaliseStorage(
  src: PositionSource,
  raw: RawStorage['storage'],
  envRefs: string[],
  problem: Problem,
): StorageConfig {
  if (raw === 'filesystem') return { kind: 'filesystem' };
  const s = raw.s3;
  const secret = (key: 'accessKey' | 'secretKey'): EnvRef => {
    // The schema allows ${env:NAME} alone here: a key is never written in the file.
    const name = envRefName(s[key])!;
    if (!envRefs.includes(name)) envRefs.push(name);
    const at = positionOf(src, [...S3_PATH, key]);
    return { env: name, at: { file: src.file, line: at.line, col: at.col } };
  };
  const scheme = s.endpoint === undefined ? undefined : s.endpoint.slice(0, s.endpoint.indexOf(':'));
  if (scheme !== undefined && s.secure !== undefined && s.secure !== (scheme === 'https')) {
    problem(
      [...S3_PATH, 'secure'],
      `secure: ${s.secure} disagrees with endpoint ${s.endpoint}; ` +
        (s.secure ? 'use an https:// endpoint' : 'remove secure (the https:// endpoint decides)'),
    );
  }
  const s3: S3Storage = {
    bucket: s.bucket,
    region: s.region,
    secure: s.secure ?? (scheme === undefined ? true : scheme === 'https'),
    skipVerify: s.skipVerify,
    v4auth: s.v4auth,
    encrypt: s.encrypt,
    redirect: s.redirect,
    accessKey: secret('accessKey'),
    secretKey: secret('secretKey'),
  };
  if (s.endpoint !== undefined) s3.endpoint = s.endpoint.replace(/\/$/, '');
  if (s.rootDirectory !== undefined) {
    if (s.rootDirectory.split('/').some((seg) => seg === '.' || seg === '..'))
      problem(
        [...S3_PATH, 'rootDirectory'],
        `'${s.rootDirectory}' has a . or .. segment; write the prefix it means`,
      );
    s3.rootDirectory = s.rootDirectory;
  }
  if (s.chunkSize !== undefined) s3.chunkSize = s.chunkSize;
  if (s.storageClass !== undefined) s3.storageClass = s.storageClass;
  if (s.accessKey === s.secretKey) {
    problem([...S3_PATH, 'secretKey'], `secretKey names the same variable as accessKey (${s.accessKey})`);
  }
  return { kind: 's3', s3 };
}

/** The replica hosts: as listed (each one in the inventory), else the master alone. */
export function normaliseReplicas(
  raw: string[] | undefined,
  inventory: Inventory | undefined,
  unknownHost: (name: string, inventory: Inventory) => string,
  problem: Problem,
): string[] {
  if (!inventory) return [];
  if (raw === undefined) return [inventory.master.name];
  const known = new Set(inventory.hosts.map((h) => h.name));
  raw.forEach((name, i) => {
    if (!known.has(name)) problem(['registry', 'replicas', i], unknownHost(name, inventory));
  });
  return raw.filter((name) => known.has(name));
}

/**
 * The rules between replicas, storage, the data directory and the certificate. `sansWritten` is
 * whether tls.subjectAltNames was written (the default list is made to cover every replica).
 */
export function checkReplicaRules(
  src: PositionSource,
  replicas: readonly string[],
  storage: StorageConfig,
  subjectAltNames: readonly string[],
  sansWritten: boolean,
  tlsMode: string,
  problem: Problem,
): void {
  if (replicas.length > 1 && storage.kind === 'filesystem') {
    problem(
      ['registry', 'replicas'],
      `${replicas.length} replicas (${replicas.join(', ')}) need shared storage: with filesystem storage ` +
        'each would hold its own images and a pull could miss what another replica took in; ' +
        'set registry.storage to {s3: {...}}, or list one replica',
    );
  }
  if (storage.kind === 's3' && isWritten(src, ['registry', 'dataDir'])) {
    problem(
      ['registry', 'dataDir'],
      'dataDir is for filesystem storage; with registry.storage s3 the images are in the bucket, so remove it',
    );
  }
  // Each replica is checked under its own name as well as through registry.address.
  if (replicas.length > 1 && sansWritten && tlsMode !== 'none') {
    const missing = replicas.filter((name) => !subjectAltNames.some((san) => sanCovers(san, name)));
    if (missing.length > 0) {
      problem(
        ['tls', 'subjectAltNames'],
        `the certificate must also name every replica, so each can be checked directly: add ` +
          missing.map(sanForHost).join(', '),
      );
    }
  }
}

/**
 * registry.bind names one address of one host: a replica elsewhere than the master has no such
 * address, and docker would refuse to publish its port there.
 */
export function checkReplicaBind(
  src: PositionSource,
  replicas: readonly string[],
  master: string | undefined,
  bind: string,
  problem: Problem,
): void {
  if (bind === '0.0.0.0' || bind === '::') return;
  const elsewhere = replicas.filter((name) => name !== master);
  if (elsewhere.length === 0 || !isWritten(src, ['registry', 'bind'])) return;
  problem(
    ['registry', 'bind'],
    `bind ${bind} is one host's address, and the registry also runs on ${elsewhere.join(', ')}; ` +
      'remove bind (every interface of each replica) and let the load balancer or a firewall narrow who reaches them',
  );
}

/** The default SANs: the address's host, then each replica's name when there are several. */
export function defaultSubjectAltNames(addressHost: string, replicas: readonly string[]): string[] {
  const sans = [sanForHost(addressHost)];
  if (replicas.length > 1) {
    for (const name of replicas) if (!sans.some((san) => sanCovers(san, name))) sans.push(sanForHost(name));
  }
  return sans;
}

/**
 * The registry settings (distribution's REGISTRY_* environment) that select and configure the
 * storage driver. Empty for filesystem storage, which the image's own configuration already uses.
 * The keys stay EnvRefs: they are resolved at apply time and never written to a host in clear.
 */
export function storageSettings(storage: StorageConfig): Record<string, string | EnvRef> {
  if (storage.kind !== 's3') return {};
  const s = storage.s3;
  // REGISTRY_STORAGE replaces the image's whole storage section (driver, cache, delete); the
  // settings below, applied after it, fill it in again.
  const env: Record<string, string | EnvRef> = {
    REGISTRY_STORAGE: 's3',
    REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'inmemory',
    REGISTRY_STORAGE_S3_BUCKET: s.bucket,
    REGISTRY_STORAGE_S3_REGION: s.region,
    REGISTRY_STORAGE_S3_SECURE: String(s.secure),
    REGISTRY_STORAGE_S3_SKIPVERIFY: String(s.skipVerify),
    REGISTRY_STORAGE_S3_V4AUTH: String(s.v4auth),
    REGISTRY_STORAGE_S3_ENCRYPT: String(s.encrypt),
    REGISTRY_STORAGE_S3_ACCESSKEY: s.accessKey,
    REGISTRY_STORAGE_S3_SECRETKEY: s.secretKey,
  };
  if (s.endpoint !== undefined) env.REGISTRY_STORAGE_S3_REGIONENDPOINT = s.endpoint;
  if (s.rootDirectory !== undefined) env.REGISTRY_STORAGE_S3_ROOTDIRECTORY = s.rootDirectory;
  if (s.chunkSize !== undefined) env.REGISTRY_STORAGE_S3_CHUNKSIZE = String(s.chunkSize);
  if (s.storageClass !== undefined) env.REGISTRY_STORAGE_S3_STORAGECLASS = s.storageClass;
  if (!s.redirect) env.REGISTRY_STORAGE_REDIRECT_DISABLE = 'true';
  return env;
}
