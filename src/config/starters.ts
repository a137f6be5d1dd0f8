// The files `regbook init` writes: a commented playbook and inventory that validate as they are
// and point editors at the schemas through their first line.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { readSchemaBytes, type SchemaKind } from './schema-files.js';

export const STARTER_PLAYBOOK = 'site.yaml';
export const STARTER_INVENTORY = 'inventory.yaml';

/**
 * The schemas are written beside the starters, in `.regbook/`, and referenced relatively: the
 * reference works wherever the files are committed and cloned, and the schema matches the regbook
 * that wrote it (`regbook init --force` or `regbook schema` refresh it after an upgrade).
 */
export const SCHEMA_DIR = '.regbook';
const schemaRef = (kind: SchemaKind): string => `./${SCHEMA_DIR}/${kind}.schema.json`;

export function starterPlaybook(schema: string): string {
  return `# yaml-language-server: $schema=${schema}
#
# A regbook playbook: the private registry you want, applied idempotently over SSH.
#   regbook validate site.yaml -i inventory.yaml       # check, contacts nothing
#   regbook apply site.yaml -i inventory.yaml --check  # what would change
#   regbook apply site.yaml -i inventory.yaml          # make it so
version: 1

registry:
  # host[:port] every docker client uses; images are pushed as <address>/<name>.
  # Its host must be covered by tls.subjectAltNames.
  address: master:5000
  image: registry:2
  port: 5000 # published on the master
  bind: 0.0.0.0 # the master's address it is published on; one address narrows who can reach it
  dataDir: /var/lib/regbook/registry # the images, on the master's disk (storage: filesystem)
  # Several registry replicas behind a load balancer need shared storage: an S3 bucket.
  # replicas: [master, worker1]      # hosts that run a registry (default: the master); name each
  #                                  # in tls.subjectAltNames, and address is the load balancer
  # storage:                         # default: filesystem; with s3, leave dataDir out
  #   s3:
  #     endpoint: https://s3.example.com
  #     bucket: registry
  #     region: us-east-1
  #     accessKey: \${env:REGISTRY_S3_ACCESS_KEY}
  #     secretKey: \${env:REGISTRY_S3_SECRET_KEY}
  deleteEnabled: false # true lets images with state: absent be deleted
  # Only these users can push and pull (htpasswd, bcrypt). Passwords never go in this file: apply
  # reads each from the environment of the machine it runs on, e.g.
  #   export REGBOOK_CI_PASSWORD=$(openssl rand -base64 24)
  auth:
    users:
      - username: ci
        password: \${env:REGBOOK_CI_PASSWORD}
  # env:                              # further REGISTRY_* settings
  #   REGISTRY_LOG_LEVEL: info
  #   REGISTRY_HTTP_SECRET: \${env:REGBOOK_HTTP_SECRET}   # a secret: from the environment too;
  #                                  # replicas share one that regbook makes unless this sets it

tls:
  mode: ca # ca: a private CA signs the certificate | selfsigned
  commonName: master
  subjectAltNames: [DNS:master] # add IP:<address> if clients use an IP address
  days: 800
  renewBeforeDays: 30

trust:
  hosts: all # all | workers | [names]: who trusts the registry
  runtimes: [docker] # docker | containerd | podman: whose per-registry trust is written
  system: false # true: the OS store too (daemons read it only when they start)
  restartDocker: never # never | on-change | always; a restart stops containers without live-restore
  serial: 1 # restarts roll: the most hosts whose docker is down at once

# The images the registry holds. For example:
#   - name: app:0.1
#     source: {host: master}   # or {archive: ./app.tar} or {pull: docker.io/library/app:0.1}
#     pullOn: workers          # workers | all | [names]
#   - name: old:0.1
#     state: absent            # needs registry.deleteEnabled: true
images: []
`;
}

export function starterInventory(schema: string): string {
  return `# yaml-language-server: $schema=${schema}
#
# The hosts regbook manages: one master runs the registry, the workers trust it and pull from it.

defaults: # every host gets these unless it sets its own
  user: root
  port: 22
  knownHosts: ~/.ssh/known_hosts
  hostKeyChecking: strict # strict | accept-new | off
  # identityFile: ~/.ssh/id_ed25519  # without it: ssh-agent, ~/.ssh/config, default keys

master:
  name: master # the name tasks and --limit use
  address: 10.0.0.10 # what SSH connects to

workers:
  - name: worker1
    address: 10.0.0.11
  - name: worker2
    address: 10.0.0.12
    # user: deploy
    # become: sudo                   # privileged commands through sudo -n
`;
}

/** Writes both starters into `dir`; refuses to overwrite unless `force`. Returns the paths written. */
export function writeStarters(dir: string, force: boolean): [string, string] {
  const files: [string, string] = [join(dir, STARTER_PLAYBOOK), join(dir, STARTER_INVENTORY)];
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0 && !force) {
    throw new UsageError(
      `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; use --force to overwrite`,
    );
  }
  mkdirSync(join(dir, SCHEMA_DIR), { recursive: true });
  for (const kind of ['playbook', 'inventory'] as const)
    writeFileSync(join(dir, schemaRef(kind)), readSchemaBytes(kind));
  writeFileSync(files[0], starterPlaybook(schemaRef('playbook')));
  writeFileSync(files[1], starterInventory(schemaRef('inventory')));
  return files;
}
