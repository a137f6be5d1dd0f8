// Where a host keeps the record of the trust files regbook wrote there (tasks/trust/record.ts),
// and the names that mark a file as regbook's own. The facts round trip looks for either, to find
// hosts outside trust.hosts that still hold such files.

export const TRUST_RECORD = '/var/lib/regbook/trust-files';

/** Where regbook's own naming marks a file as its own, whatever the record says. */
export const OWN_NAMED_GLOBS = [
  '/usr/local/share/ca-certificates/regbook-*.crt',
  '/etc/pki/ca-trust/source/anchors/regbook-*.crt',
  '/etc/containers/registries.conf.d/regbook-*.conf',
] as const;
