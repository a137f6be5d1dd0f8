// Where a host keeps what makes it trust the registry, by what the playbook asks and the OS family.
import { posix } from 'node:path';
import type { Playbook } from '../../config/model.js';
import { TaskFailure, type HostFacts } from '../../core/task.js';
import { CONTAINERD_CERTS_D, CONTAINERD_CONFIG, hostsToml } from './containerd.js';
import { DOCKER_DAEMON_JSON, podmanDropIn, podmanDropInText } from './insecure.js';
import type { TrustRecord } from './record.js';

export interface TrustFile {
  path: string;
  /** What the file holds when it is not the trust anchor (containerd's hosts.toml). */
  data?: string;
  /** Its mode when not a certificate's. */
  mode?: number;
  /** read: only read, for a later decision (daemon.json, config.toml); absent: must not exist. */
  kind?: 'read' | 'absent';
  /** Refreshes the OS store after the file changed (system trust only). */
  refresh?: string[];
  /** The bundle the refresh builds; it must hold the anchor, or the refresh is still owed. */
  bundle?: string;
  system: boolean;
}

/** Where a host keeps the registry's trust anchor, by what the playbook asks and the OS family. */
export function trustFiles(pb: Playbook, facts: Pick<HostFacts, 'osFamily' | 'osId'>): TrustFile[] {
  const files: TrustFile[] = [];
  const safeName = `regbook-${pb.registry.address.replace(/[^A-Za-z0-9.-]/g, '_')}.crt`;
  const runtimes = pb.trust.runtimes;
  const address = pb.registry.address;
  // Read without docker in runtimes too: an insecure-registries entry regbook added earlier goes.
  files.push({ path: DOCKER_DAEMON_JSON, kind: 'read', system: false });
  if (runtimes.includes('containerd')) files.push({ path: CONTAINERD_CONFIG, kind: 'read', system: false });
  if (pb.tls.mode === 'none') {
    // Plain HTTP: no certificate anywhere; docker's daemon.json is merged after the files.
    if (runtimes.includes('containerd')) {
      files.push({
        path: posix.join(CONTAINERD_CERTS_D, address, 'hosts.toml'),
        data: hostsToml(address, 'http'),
        mode: 0o644,
        system: false,
      });
    }
    if (runtimes.includes('podman')) {
      files.push({
        path: podmanDropIn(address),
        data: podmanDropInText(address),
        mode: 0o644,
        system: false,
      });
    }
    return files;
  }
  // A drop-in left from tls.mode none would let podman fall back to plain HTTP.
  files.push({ path: podmanDropIn(address), kind: 'absent', system: false });
  if (runtimes.includes('docker') && pb.trust.dockerCertsD) {
    files.push({ path: posix.join('/etc/docker/certs.d', pb.registry.address, 'ca.crt'), system: false });
  }
  if (runtimes.includes('containerd')) {
    const dir = posix.join(CONTAINERD_CERTS_D, pb.registry.address);
    const ca = posix.join(dir, 'ca.crt');
    files.push({ path: ca, system: false });
    files.push({
      path: posix.join(dir, 'hosts.toml'),
      data: hostsToml(pb.registry.address, 'https', ca),
      mode: 0o644,
      system: false,
    });
  }
  if (runtimes.includes('podman')) {
    // podman, CRI-O, buildah and skopeo share containers/image, which reads this directory.
    files.push({ path: posix.join('/etc/containers/certs.d', pb.registry.address, 'ca.crt'), system: false });
  }
  if (pb.trust.system) {
    if (facts.osFamily === 'debian') {
      files.push({
        path: posix.join('/usr/local/share/ca-certificates', safeName),
        refresh: ['update-ca-certificates'],
        bundle: '/etc/ssl/certs/ca-certificates.crt',
        system: true,
      });
    } else if (facts.osFamily === 'rhel') {
      files.push({
        path: posix.join('/etc/pki/ca-trust/source/anchors', safeName),
        refresh: ['update-ca-trust', 'extract'],
        bundle: '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
        system: true,
      });
    } else {
      throw new TaskFailure(
        `cannot add to the system trust store of OS "${facts.osId}" (Debian and RHEL families only); set trust.system: false`,
      );
    }
  }
  return files;
}

/** What a host outside trust.hosts is read for: docker's daemon.json, for insecure entries regbook added. */
export function leftoverFiles(): TrustFile[] {
  return [{ path: DOCKER_DAEMON_JSON, kind: 'read', system: false }];
}

/** Every file trust keeps on a host of either OS family: a read-ahead runs before facts tell which. */
export function candidateFiles(pb: Playbook): TrustFile[] {
  const byPath = new Map<string, TrustFile>();
  for (const osFamily of ['debian', 'rhel'] as const) {
    for (const f of trustFiles(pb, { osFamily, osId: osFamily })) byPath.set(f.path, f);
  }
  return [...byPath.values()];
}

/** What regbook records as written on a host that trusts the registry with these files. */
export function wantedRecord(pb: Playbook, files: readonly TrustFile[]): TrustRecord {
  return {
    files: files.filter((f) => !f.kind).map((f) => f.path),
    insecure: pb.tls.mode === 'none' && pb.trust.runtimes.includes('docker') ? [pb.registry.address] : [],
  };
}
