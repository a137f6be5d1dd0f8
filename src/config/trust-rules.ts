// The trust settings that cannot work together, refused before any host is contacted. Each rule
// points at the key the user wrote, so the message lands on the line to change.
import type { ImageSpec, Playbook, RegistryConfig, TrustConfig } from './model.js';
import { isWritten, type PositionSource, type Segment } from './positions.js';

type Problem = (path: Segment[], message: string) => void;

export function checkTrustRules(
  src: PositionSource,
  trust: TrustConfig,
  tls: { mode: string },
  registry: Pick<RegistryConfig, 'auth'>,
  images: readonly ImageSpec[],
  problem: Problem,
): void {
  const at = (key: string): Segment[] => (isWritten(src, ['trust', key]) ? ['trust', key] : ['trust']);
  const docker = trust.runtimes.includes('docker');
  const restarts = trust.restartDocker !== 'never';

  if (tls.mode === 'none') {
    if (registry.auth) {
      problem(
        isWritten(src, ['registry', 'auth']) ? ['registry', 'auth'] : ['tls', 'mode'],
        'auth needs TLS: with tls.mode none the passwords would cross the network in clear text ' +
          '(set tls.mode to ca or selfsigned, or remove auth)',
      );
    }
    if (trust.system && isWritten(src, ['trust', 'system'])) {
      problem(['trust', 'system'], 'tls.mode none has no certificate to put in the OS store; remove system');
    }
  } else if (docker && !trust.dockerCertsD && !(trust.system && restarts)) {
    // docker reads the OS store only when it starts: without certs.d, only a restart after the
    // store changed makes it trust the registry.
    problem(
      at('dockerCertsD'),
      'docker would never trust the registry: with dockerCertsD: false it reads only the OS store, and ' +
        'only when it starts; set dockerCertsD: true (no restart needed), or system: true with ' +
        'restartDocker: on-change',
    );
  }
  if (!docker && trust.dockerCertsD && isWritten(src, ['trust', 'dockerCertsD'])) {
    problem(['trust', 'dockerCertsD'], 'dockerCertsD is docker’s trust, but docker is not in trust.runtimes');
  }
  if (restarts && !docker) {
    problem(
      at('restartDocker'),
      `restartDocker: ${trust.restartDocker} restarts docker, but docker is not in trust.runtimes`,
    );
  }
  if (trust.restartDocker === 'on-change' && !trust.system && tls.mode !== 'none') {
    problem(
      at('restartDocker'),
      'restartDocker: on-change restarts docker where the OS store changed, but trust.system is false, ' +
        'so it never would; docker needs no restart for certs.d (remove restartDocker, or set system: true)',
    );
  }
  if (!docker && images.some((img) => img.state === 'present')) {
    problem(
      at('runtimes'),
      'images are pushed and pulled with docker, which must then trust the registry: add docker to trust.runtimes',
    );
  }
}

/** The loud warning every command gives for tls.mode none, or undefined for TLS. */
export function insecureWarning(pb: Pick<Playbook, 'tls' | 'registry'>): string | undefined {
  if (pb.tls.mode !== 'none') return undefined;
  return (
    `INSECURE: tls.mode none: the registry ${pb.registry.address} speaks plain HTTP; images travel ` +
    'unprotected and anyone on the network can read or replace them'
  );
}
