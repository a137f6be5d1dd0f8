import type { Diagnostic } from '../core/errors.js';

// The normalised, typed model that every later layer consumes. Only src/config reads YAML; it
// returns these objects with every default applied, so no other code has to know a default.

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';

export interface HostSpec {
  /** The name tasks, --limit and the recap use. */
  name: string;
  role: 'master' | 'worker';
  connection: 'ssh' | 'local';
  /** What SSH connects to; for a local host, 'localhost'. */
  address: string;
  port: number;
  user: string;
  /** Absolute path on the control node (~ expanded), or undefined to rely on the agent / ~/.ssh/config. */
  identityFile?: string;
  /** Absolute path on the control node (~ expanded). */
  knownHosts: string;
  hostKeyChecking: HostKeyChecking;
  /** Run privileged commands through `sudo -n`. */
  become?: 'sudo';
  /** The position of the host entry in the inventory, for messages. */
  source: SourceRef;
  /**
   * Which connection fields the inventory wrote (on the host or in defaults) rather than took from
   * the schema's defaults: ~/.ssh/config may fill only the others, as ssh itself would.
   */
  explicit?: { user?: boolean; port?: boolean; identityFile?: boolean };
}

export interface SourceRef {
  file: string;
  line: number;
  col: number;
}

export interface Inventory {
  file: string;
  master: HostSpec;
  workers: HostSpec[];
  /** master first, then workers in file order. */
  hosts: HostSpec[];
}

/** A value that must come from the environment at apply time: `${env:NAME}`. */
export interface EnvRef {
  env: string;
  /** Where the `${env:...}` reference is written, for a message about the value it brings. */
  at?: SourceRef;
}

export type Secretish = string | EnvRef;

export interface AuthUser {
  username: string;
  password: Secretish;
}

/** A bucket of an S3-compatible object store, used through the registry's s3-aws driver. */
export interface S3Storage {
  /** http(s)://host[:port] of a store other than Amazon S3 (the driver's regionendpoint). */
  endpoint?: string;
  bucket: string;
  region: string;
  /** HTTPS to the store: as written, else what the endpoint's scheme says, else true. */
  secure: boolean;
  skipVerify: boolean;
  v4auth: boolean;
  rootDirectory?: string;
  chunkSize?: number;
  storageClass?: 'STANDARD' | 'REDUCED_REDUNDANCY';
  encrypt: boolean;
  /** Clients fetch blobs from the store by pre-signed URL (false: the registry serves them). */
  redirect: boolean;
  /** Secrets: always `${env:...}` references, resolved at apply time. */
  accessKey: EnvRef;
  secretKey: EnvRef;
}

/** filesystem: registry.dataDir on the registry host; s3: a bucket every replica shares. */
export type StorageConfig = { kind: 'filesystem' } | { kind: 's3'; s3: S3Storage };

export interface RegistryConfig {
  /** host[:port] clients use, e.g. master:5000. */
  address: string;
  /** The host part of address. */
  addressHost: string;
  /** The port part of address (defaults to 443 when absent, as docker does). */
  addressPort: number;
  image: string;
  /** Absolute path on the control node, resolved against the playbook's directory. */
  imageArchive?: string;
  name: string;
  port: number;
  /** The master's address the port is published on (0.0.0.0: every IPv4 interface). */
  bind: string;
  restart: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  dataDir: string;
  deleteEnabled: boolean;
  /** Where the images are kept; filesystem unless the playbook says s3. */
  storage: StorageConfig;
  /**
   * The inventory hosts that each run a registry container (resolved names, in playbook order);
   * the master alone unless the playbook lists them. Empty only when no inventory was loaded.
   */
  replicas: string[];
  /** Further REGISTRY_* settings; an EnvRef value is a secret read from the environment at apply time. */
  env: Record<string, string | EnvRef>;
  auth?: { file: string; users: AuthUser[] };
}

export interface TlsConfig {
  dir: string;
  /** none: plain HTTP, no certificate (the runbook's insecure-registry way). */
  mode: 'ca' | 'selfsigned' | 'none';
  commonName: string;
  /** As written: 'DNS:name' or 'IP:addr'. */
  subjectAltNames: string[];
  days: number;
  keyBits: number;
  renewBeforeDays: number;
}

export type Runtime = 'docker' | 'containerd' | 'podman';

export interface TrustConfig {
  /** Resolved host names (from all | workers | [names]). */
  hosts: string[];
  /** Whose per-registry trust is written on those hosts. */
  runtimes: Runtime[];
  /** docker's certs.d (only where docker is in runtimes). */
  dockerCertsD: boolean;
  system: boolean;
  restartDocker: 'on-change' | 'never' | 'always';
  /** The most hosts whose docker is down at once during a restart. */
  serial: number;
}

export type ImageSource = { host: string } | { archive: string } | { pull: string };

export interface ImageSpec {
  /** name:tag as written, e.g. app:0.1 (tag defaults to latest). */
  name: string;
  repository: string;
  tag: string;
  state: 'present' | 'absent';
  /** For state present. archive paths are absolute on the control node. */
  source?: ImageSource;
  /** Resolved host names that pull it after the push. */
  pullOn: string[];
  source_ref: SourceRef;
}

export interface Playbook {
  file: string;
  version: 1;
  registry: RegistryConfig;
  tls: TlsConfig;
  trust: TrustConfig;
  images: ImageSpec[];
  /** Every ${env:VAR} the playbook references, for an early, named error at apply time. */
  envRefs: string[];
  /** What is allowed but unsafe (a registry open to anyone, with delete on), for validate and apply to say. */
  warnings?: Diagnostic[];
}
