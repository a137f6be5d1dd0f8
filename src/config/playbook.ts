// Playbook: from schema-valid data (defaults filled in) to the normalised model, plus the rules a
// schema cannot express: the address covered by a SAN, hosts that exist in the inventory, deletes
// that the registry allows, renewal before expiry, no image declared twice, env references.
import { isIP } from 'node:net';
import { dirname, posix, resolve } from 'node:path';
import type { Diagnostic } from '../core/errors.js';
import {
  envRefName,
  expandLocalPath,
  parseAddress,
  sanCovers,
  sanForHost,
  splitImageName,
} from './grammar.js';
import { diagnosticAt, type Normalised } from './inventory.js';
import type {
  ImageSource,
  ImageSpec,
  Inventory,
  Playbook,
  RegistryConfig,
  TlsConfig,
  TrustConfig,
} from './model.js';
import {
  checkReplicaBind,
  checkReplicaRules,
  defaultSubjectAltNames,
  normaliseReplicas,
  normaliseStorage,
  type RawStorage,
} from './storage.js';
import { checkTrustRules, insecureWarning } from './trust-rules.js';
import { dottedPath, isWritten, positionOf, type PositionSource, type Segment } from './positions.js';

type HostSelector = 'all' | 'workers' | string[];

/** The playbook as the schema guarantees it, after its defaults were filled in. */
interface RawPlaybook {
  version: 1;
  registry: Omit<RegistryConfig, 'addressHost' | 'addressPort' | 'env' | 'auth' | 'storage' | 'replicas'> &
    RawStorage & {
      env: Record<string, string | number | boolean>;
      auth?: { file: string; users: { username: string; password: string }[] };
    };
  tls: Omit<TlsConfig, 'commonName' | 'subjectAltNames'> & {
    commonName?: string;
    subjectAltNames?: string[];
  };
  trust: Omit<TrustConfig, 'hosts'> & { hosts: HostSelector };
  images: {
    name: string;
    state: 'present' | 'absent';
    source?: { host?: string; archive?: string; pull?: string };
    pullOn: HostSelector;
  }[];
}

export function normalisePlaybook(
  src: PositionSource,
  data: unknown,
  inventory: Inventory | undefined,
): Normalised<Playbook> {
  const raw = data as RawPlaybook;
  const diagnostics: Diagnostic[] = [];
  const problem = (path: Segment[], message: string, at: 'key' | 'value' = 'value') =>
    diagnostics.push(diagnosticAt(src, path, message, at));
  const baseDir = dirname(resolve(src.file));
  const localPath = (value: string, path: Segment[]): string => {
    const r = expandLocalPath(value, baseDir);
    if (!r.ok) problem(path, r.message);
    return r.ok ? r.path : value;
  };

  // Host names from the inventory; without one (it failed to load) host checks are skipped.
  const known = new Set(inventory?.hosts.map((h) => h.name) ?? []);
  // One shared list per group: every image's `pullOn: all` is the same array, so a large playbook
  // over a large inventory costs images + hosts, not images × hosts (the model is read-only).
  const allNames = inventory?.hosts.map((h) => h.name) ?? [];
  const workerNames = inventory?.workers.map((h) => h.name) ?? [];
  const selectHosts = (sel: HostSelector, path: Segment[]): string[] => {
    if (!inventory) return [];
    if (sel === 'all') return allNames;
    if (sel === 'workers') return workerNames;
    sel.forEach((name, i) => {
      if (!known.has(name)) problem([...path, i], unknownHostMessage(name, inventory));
    });
    return sel.filter((name) => known.has(name));
  };

  // registry
  const r = raw.registry;
  const addr = parseAddress(r.address);
  const envRefs: string[] = [];
  const registry: RegistryConfig = {
    address: r.address,
    addressHost: addr.host,
    addressPort: addr.port,
    image: r.image,
    name: r.name,
    port: r.port,
    bind: r.bind,
    restart: r.restart,
    dataDir: r.dataDir,
    deleteEnabled: r.deleteEnabled,
    storage: normaliseStorage(src, r.storage, envRefs, problem),
    replicas: normaliseReplicas(r.replicas, inventory, unknownHostMessage, problem),
    env: {},
  };
  for (const [k, v] of Object.entries(r.env)) {
    const owner =
      ownedEnvSetting(k) ??
      (registry.storage.kind === 's3' && k.startsWith('REGISTRY_STORAGE_REDIRECT_')
        ? 'use registry.storage.s3.redirect instead'
        : undefined);
    if (owner) problem(['registry', 'env', k], `${k} is set by regbook; ${owner}`, 'key');
    const ref = typeof v === 'string' ? envRefName(v) : undefined;
    if (ref && !envRefs.includes(ref)) envRefs.push(ref);
    registry.env[k] = ref ? { env: ref } : String(v);
  }
  if (r.imageArchive !== undefined)
    registry.imageArchive = localPath(r.imageArchive, ['registry', 'imageArchive']);
  // Paths on the hosts say plainly where regbook writes: no `.`/`..` segments that lead elsewhere,
  // and none of the shell's special characters, which have no place in a path regbook manages.
  const remotePath = (value: string | undefined, path: Segment[]) => {
    if (value === undefined) return;
    const bad = remotePathProblem(value);
    if (bad) problem(path, bad);
  };
  remotePath(r.dataDir, ['registry', 'dataDir']);
  remotePath(r.auth?.file, ['registry', 'auth', 'file']);
  remotePath(raw.tls.dir, ['tls', 'dir']);
  if (!isIP(r.bind)) problem(['registry', 'bind'], `'${r.bind}' is not an IPv4 or IPv6 address`);
  // These directories are made root's alone (0700): a system directory would lock everyone else out.
  const ownDir = (dir: string | undefined, path: Segment[], what: string) => {
    if (dir !== undefined && isSystemDir(dir))
      problem(
        path,
        `${what} '${dir}' is a system directory; regbook makes it 0700, so give it one of its own`,
      );
  };
  ownDir(r.dataDir, ['registry', 'dataDir'], 'the data directory');
  ownDir(
    r.auth && posix.dirname(r.auth.file),
    ['registry', 'auth', 'file'],
    'the directory of the htpasswd file',
  );
  ownDir(raw.tls.dir, ['tls', 'dir'], 'the certificate directory');
  if (r.auth) {
    const seen = new Map<string, number>();
    registry.auth = {
      file: r.auth.file,
      users: r.auth.users.map((u, i) => {
        const earlier = seen.get(u.username);
        if (earlier !== undefined) {
          problem(
            ['registry', 'auth', 'users', i, 'username'],
            `user '${u.username}' is already listed (users.${earlier})`,
          );
        }
        seen.set(u.username, i);
        const name = envRefName(u.password)!;
        if (!envRefs.includes(name)) envRefs.push(name);
        const at = positionOf(src, ['registry', 'auth', 'users', i, 'password']);
        return {
          username: u.username,
          password: { env: name, at: { file: src.file, line: at.line, col: at.col } },
        };
      }),
    };
  }

  // tls
  const t = raw.tls;
  const subjectAltNames = t.subjectAltNames ?? defaultSubjectAltNames(addr.host, registry.replicas);
  if (t.mode !== 'none' && !subjectAltNames.some((san) => sanCovers(san, addr.host))) {
    problem(
      ['registry', 'address'],
      `host '${addr.host}' is not covered by tls.subjectAltNames (${subjectAltNames.join(', ')}); ` +
        `add ${sanForHost(addr.host)} so clients accept the certificate`,
    );
  }
  if (t.renewBeforeDays >= t.days) {
    const path = isWritten(src, ['tls', 'renewBeforeDays']) ? ['tls', 'renewBeforeDays'] : ['tls', 'days'];
    problem(
      path,
      `renewBeforeDays (${t.renewBeforeDays}) must be less than days (${t.days}), or every run would renew`,
    );
  }
  const tls: TlsConfig = {
    dir: t.dir,
    mode: t.mode,
    commonName: t.commonName ?? addr.host,
    subjectAltNames,
    days: t.days,
    keyBits: t.keyBits,
    renewBeforeDays: t.renewBeforeDays,
  };

  // trust
  const trust: TrustConfig = {
    hosts: selectHosts(raw.trust.hosts, ['trust', 'hosts']),
    runtimes: raw.trust.runtimes,
    dockerCertsD: raw.trust.dockerCertsD,
    system: raw.trust.system,
    restartDocker: raw.trust.restartDocker,
    serial: raw.trust.serial,
  };

  // images
  const declared = new Map<string, number>();
  const images: ImageSpec[] = raw.images.map((img, i) => {
    const path: Segment[] = ['images', i];
    const { repository, tag } = splitImageName(img.name);
    const name = `${repository}:${tag}`;
    const earlier = declared.get(name);
    if (earlier !== undefined) {
      const where = positionOf(src, ['images', earlier, 'name']);
      problem(
        [...path, 'name'],
        `image ${name} is already declared at images.${earlier} (line ${where.line})`,
      );
    } else {
      declared.set(name, i);
    }
    const { line, col } = positionOf(src, path);
    const spec: ImageSpec = {
      name,
      repository,
      tag,
      state: img.state,
      pullOn: [],
      source_ref: { file: src.file, line, col },
    };
    if (img.state === 'absent') {
      if (!raw.registry.deleteEnabled) {
        const at = isWritten(src, [...path, 'state']) ? [...path, 'state'] : path;
        problem(
          at,
          'state: absent needs registry.deleteEnabled: true (the registry refuses deletes otherwise)',
        );
      }
      return spec;
    }
    spec.source = imageSource(img.source, [...path, 'source']);
    spec.pullOn = selectHosts(img.pullOn, [...path, 'pullOn']);
    return spec;
  });

  function imageSource(s: RawPlaybook['images'][number]['source'], path: Segment[]): ImageSource | undefined {
    if (s?.archive !== undefined) return { archive: localPath(s.archive, [...path, 'archive']) };
    if (s?.pull !== undefined) return { pull: s.pull };
    const host = s?.host ?? inventory?.master.name;
    if (host === undefined) return undefined;
    if (inventory && !known.has(host)) problem([...path, 'host'], unknownHostMessage(host, inventory));
    return { host };
  }

  // docker refuses a registry whose certificate it does not trust: every host that pushes (the
  // master for archives and pulls) or pulls must be one that the trust task makes trust it.
  if (inventory) {
    const trusted = new Set(trust.hosts);
    const untrustedOf = new Map<string[], string[]>();
    images.forEach((img, i) => {
      if (!img.source) return;
      const pusher = 'host' in img.source ? img.source.host : inventory.master.name;
      if (known.has(pusher) && !trusted.has(pusher)) {
        problem(['images', i, 'source'], `${pusher} pushes ${img.name} but is not in trust.hosts`);
      }
      let untrusted = untrustedOf.get(img.pullOn);
      if (!untrusted) {
        untrusted = img.pullOn.filter((h) => known.has(h) && !trusted.has(h));
        untrustedOf.set(img.pullOn, untrusted);
      }
      if (untrusted.length > 0) {
        const at = isWritten(src, ['images', i, 'pullOn']) ? ['images', i, 'pullOn'] : ['images', i];
        const one = untrusted.length === 1;
        problem(
          at,
          `${untrusted.join(', ')} pull${one ? 's' : ''} ${img.name} but ${one ? 'is' : 'are'} not in trust.hosts`,
        );
      }
    });
  }

  checkReplicaRules(
    src,
    registry.replicas,
    registry.storage,
    subjectAltNames,
    t.subjectAltNames !== undefined,
    t.mode,
    problem,
  );
  checkReplicaBind(src, registry.replicas, inventory?.master.name, registry.bind, problem);
  checkEnvRefPlacement(raw, problem);
  checkTrustRules(src, trust, tls, registry, images, problem);

  const warnings: Diagnostic[] = [];
  const insecure = insecureWarning({ tls, registry });
  if (insecure) warnings.push(diagnosticAt(src, ['tls', 'mode'], insecure));
  if (!registry.auth && registry.deleteEnabled) {
    const at = isWritten(src, ['registry', 'deleteEnabled']) ? ['registry', 'deleteEnabled'] : ['registry'];
    warnings.push(
      diagnosticAt(
        src,
        at,
        `the registry has no auth and deleteEnabled: true: anyone who reaches ${registry.bind}:${registry.port} ` +
          'can push, overwrite and delete images; add registry.auth (users with ${env:...} passwords), ' +
          'or set registry.bind to an address only trusted hosts reach',
      ),
    );
  }

  const playbook: Playbook = { file: src.file, version: 1, registry, tls, trust, images, envRefs, warnings };
  return { value: playbook, diagnostics };
}

function unknownHostMessage(name: string, inventory: Inventory): string {
  return `no host named '${name}' in ${inventory.file} (hosts: ${inventory.hosts.map((h) => h.name).join(', ')})`;
}

/**
 * The REGISTRY_* settings regbook derives from other playbook fields: one written in registry.env
 * would silently undo TLS, auth, the delete switch or the mounts. Says which field to use instead.
 */
export function ownedEnvSetting(name: string): string | undefined {
  if (name.startsWith('REGISTRY_HTTP_TLS_'))
    return 'TLS comes from the tls section (tls.dir, tls.mode and the certificate regbook makes)';
  if (name.startsWith('REGISTRY_AUTH')) return 'use registry.auth (htpasswd users) instead';
  if (name === 'REGISTRY_STORAGE_DELETE_ENABLED') return 'use registry.deleteEnabled instead';
  if (name === 'REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY')
    return 'use registry.dataDir instead (mounted at /var/lib/registry)';
  if (name === 'REGISTRY_HTTP_ADDR') return 'use registry.port and registry.bind instead';
  if (name === 'REGISTRY_STORAGE' || name.startsWith('REGISTRY_STORAGE_S3_'))
    return 'use registry.storage instead (filesystem, or s3 with its keys as ${env:...})';
  return undefined;
}

/**
 * `${env:…}` is resolved in auth passwords and as a whole registry.env value only; anywhere else
 * it would be taken literally.
 */
function checkEnvRefPlacement(data: unknown, problem: (path: Segment[], message: string) => void): void {
  // One path array, extended and shortened on the way down and up: copied only for a problem.
  const path: Segment[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (!value.includes('${env:')) return;
      const isPassword =
        path.length === 5 && dottedPath(path.slice(0, 3)) === 'registry.auth.users' && path[4] === 'password';
      const isEnvValue = path.length === 3 && dottedPath(path.slice(0, 2)) === 'registry.env';
      const isS3Key =
        path.length === 4 &&
        dottedPath(path.slice(0, 3)) === 'registry.storage.s3' &&
        (path[3] === 'accessKey' || path[3] === 'secretKey');
      if (isEnvValue && !envRefName(value)) {
        problem([...path], 'a registry.env value is either ${env:NAME} as a whole or plain text; split it');
      } else if (!isPassword && !isEnvValue && !isS3Key) {
        problem(
          [...path],
          '${env:...} is only resolved in registry.auth.users[].password, registry.env values and the keys of registry.storage.s3; write the value itself here',
        );
      }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        visit(value[i]);
        path.pop();
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        path.push(k);
        visit(v);
        path.pop();
      }
    }
  };
  visit(data);
}

/**
 * Directories that other software and users need to enter: the root, any top-level directory, and
 * the shared second-level ones (FHS). A path below them (/etc/regbook, /var/lib/regbook) is fine.
 */
const SYSTEM_DIRS = new Set([
  '/usr/local',
  '/usr/lib',
  '/usr/share',
  '/usr/bin',
  '/usr/sbin',
  '/usr/libexec',
  '/usr/src',
  '/var/lib',
  '/var/log',
  '/var/tmp',
  '/var/cache',
  '/var/spool',
  '/var/run',
  '/var/opt',
  '/var/mail',
  '/etc/ssl',
  '/etc/docker',
  '/etc/containers',
  '/etc/containerd',
  '/etc/ssh',
  '/etc/default',
  '/etc/systemd',
  '/etc/init.d',
  '/etc/pki',
]);

export function isSystemDir(dir: string): boolean {
  const d = posix.normalize(dir).replace(/(.)\/+$/, '$1');
  return d.split('/').filter(Boolean).length <= 1 || SYSTEM_DIRS.has(d) || /^\/home\/[^/]+$/.test(d);
}

/** Why a path on a managed host is refused, or undefined when it is plain. */
export function remotePathProblem(p: string): string | undefined {
  const segments = p.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.'))
    return `'${p}' has a . or .. segment; write the path it means`;
  if (segments.some((s) => s === '') && p !== '/') return `'${p}' has an empty segment (// or a trailing /)`;
  const odd = [...new Set(p.replace(/[A-Za-z0-9._\-/+@:=,]/g, ''))];
  if (odd.length > 0)
    return `'${p}' holds characters not allowed in a path here: ${odd.map((c) => JSON.stringify(c)).join(' ')}`;
  return undefined;
}
