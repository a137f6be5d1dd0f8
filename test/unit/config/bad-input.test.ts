// Table of bad inputs: each must be refused with a diagnostic at the exact line and column, naming
// the key path, in plain words. Positions are 1-based, as editors show them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic } from '../../../src/core/errors.js';
import { diagnosticsOf, GOOD_INVENTORY, GOOD_PLAYBOOK, load } from './helpers.js';

interface Case {
  name: string;
  /** Defaults to GOOD_PLAYBOOK / GOOD_INVENTORY. */
  playbook?: string | Buffer;
  inventory?: string | Buffer;
  file: 'playbook' | 'inventory';
  line: number;
  col: number;
  path: string;
  message: string | RegExp;
  /** Text that must not appear in any message (secrets). */
  never?: string;
}

const inv = (extra: string) => GOOD_INVENTORY + extra;
const pb = (extra: string) => GOOD_PLAYBOOK + extra;
const image = (name: string) => pb(`images:\n  - name: ${name}\n`);

const cases: Case[] = [
  // ---- inventory: shapes
  {
    name: 'unknown top-level key',
    inventory: inv('extra: 1\n'),
    file: 'inventory',
    line: 9,
    col: 1,
    path: 'extra',
    message: "unknown key 'extra'",
  },
  {
    name: 'misspelt host key points at that key and suggests the right one',
    inventory: 'master:\n  name: master\n  adress: 10.0.0.10\n',
    file: 'inventory',
    line: 3,
    col: 3,
    path: 'master.adress',
    message: "unknown key 'adress' (did you mean 'address'?)",
  },
  {
    name: 'missing master points at the document',
    inventory: 'workers: []\n',
    file: 'inventory',
    line: 1,
    col: 1,
    path: 'master',
    message: 'required key is missing',
  },
  {
    name: 'worker without address points at its mapping',
    inventory: inv('  - name: worker3\n    port: 22\n'),
    file: 'inventory',
    line: 9,
    col: 5,
    path: 'workers.2.address',
    message: /required key is missing.*connection: local/,
  },
  {
    name: 'host without name',
    inventory: 'master:\n  address: 10.0.0.10\n',
    file: 'inventory',
    line: 2,
    col: 3,
    path: 'master.name',
    message: 'required key is missing',
  },
  {
    name: 'port above 65535',
    inventory: inv('    port: 70000\n'),
    file: 'inventory',
    line: 9,
    col: 11,
    path: 'workers.1.port',
    message: 'must be between 1 and 65535 (got 70000)',
  },
  {
    name: 'port 0 in defaults',
    inventory: 'defaults:\n  port: 0\n' + GOOD_INVENTORY,
    file: 'inventory',
    line: 2,
    col: 9,
    path: 'defaults.port',
    message: 'must be between 1 and 65535 (got 0)',
  },
  {
    name: 'port as a quoted string',
    inventory: inv('    port: "22"\n'),
    file: 'inventory',
    line: 9,
    col: 11,
    path: 'workers.1.port',
    message: "must be a whole number, not '22'",
  },
  {
    name: 'hostKeyChecking not in its enum',
    inventory: 'defaults:\n  hostKeyChecking: yes\n' + GOOD_INVENTORY,
    file: 'inventory',
    line: 2,
    col: 20,
    path: 'defaults.hostKeyChecking',
    message: "must be one of strict, accept-new, off (got 'yes')",
  },
  {
    name: 'uppercase host name',
    inventory: 'master:\n  name: Master\n  address: 10.0.0.10\n',
    file: 'inventory',
    line: 2,
    col: 9,
    path: 'master.name',
    message: /must be a host name/,
  },
  {
    name: 'host name with an underscore',
    inventory: 'master:\n  name: my_master\n  address: 10.0.0.10\n',
    file: 'inventory',
    line: 2,
    col: 9,
    path: 'master.name',
    message: /must be a host name/,
  },
  {
    name: 'duplicate host name across master and workers',
    inventory: inv('  - name: master\n    address: 10.0.0.13\n'),
    file: 'inventory',
    line: 9,
    col: 11,
    path: 'workers.2.name',
    message: "host name 'master' is already used by master (line 2)",
  },
  {
    name: 'address with a space',
    inventory: 'master:\n  name: master\n  address: "10.0.0.10 x"\n',
    file: 'inventory',
    line: 3,
    col: 12,
    path: 'master.address',
    message: /must be an IP address or a DNS name/,
  },
  {
    name: 'address with a shell metacharacter',
    inventory: 'master:\n  name: master\n  address: "h;reboot"\n',
    file: 'inventory',
    line: 3,
    col: 12,
    path: 'master.address',
    message: /must be an IP address or a DNS name \(got 'h;reboot'\)/,
  },
  {
    name: 'workers as a mapping',
    inventory: 'master:\n  name: master\n  address: 10.0.0.10\nworkers:\n  name: w\n',
    file: 'inventory',
    line: 5,
    col: 3,
    path: 'workers',
    message: 'must be a list, not a mapping',
  },
  {
    name: 'become other than sudo',
    inventory: 'defaults:\n  become: su\n' + GOOD_INVENTORY,
    file: 'inventory',
    line: 2,
    col: 11,
    path: 'defaults.become',
    message: "must be one of sudo (got 'su')",
  },
  {
    name: 'local host with an address',
    inventory: inv('  - name: builder\n    connection: local\n    address: 10.0.0.9\n'),
    file: 'inventory',
    line: 11,
    col: 14,
    path: 'workers.2.address',
    message: 'a host with connection: local has no address',
  },
  {
    name: '~user paths are not expanded',
    inventory: 'defaults:\n  identityFile: ~bob/.ssh/id\n' + GOOD_INVENTORY,
    file: 'inventory',
    line: 2,
    col: 17,
    path: 'defaults.identityFile',
    message: 'only ~ and ~/ are expanded, not ~bob',
  },
  // ---- YAML itself (either file)
  {
    name: 'duplicate key',
    inventory: 'master:\n  name: master\n  address: 10.0.0.10\n  name: again\n',
    file: 'inventory',
    line: 4,
    col: 3,
    path: 'master.name',
    message: 'duplicate key',
  },
  {
    name: 'tab used for indentation',
    inventory: 'master:\n\tname: master\n',
    file: 'inventory',
    line: 2,
    col: 1,
    path: '',
    message: 'tab used for indentation',
  },
  {
    name: 'empty file',
    inventory: '',
    file: 'inventory',
    line: 1,
    col: 1,
    path: '',
    message: 'the file is empty',
  },
  {
    name: 'a file of comments only is empty',
    playbook: '# nothing here yet\n\n',
    file: 'playbook',
    line: 1,
    col: 1,
    path: '',
    message: 'the file is empty',
  },
  {
    name: 'bytes that are not UTF-8',
    inventory: Buffer.concat([
      Buffer.from('master:\n  name: mast'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('er\n'),
    ]),
    file: 'inventory',
    line: 2,
    col: 13,
    path: '',
    message: 'not UTF-8 text (byte 0xff at offset 20)',
  },
  {
    name: 'an overlong UTF-8 sequence after valid multibyte text',
    playbook: Buffer.concat([Buffer.from('# é\nversion: 1\n'), Buffer.from([0xc0, 0xaf])]),
    file: 'playbook',
    line: 3,
    col: 1,
    path: '',
    message: 'not UTF-8 text (byte 0xc0 at offset 16)',
  },
  {
    name: 'unclosed flow sequence',
    playbook: pb('tls:\n  subjectAltNames: [DNS:master\n'),
    file: 'playbook',
    line: 6,
    col: 1,
    path: '',
    message: /YAML syntax error/,
  },
  {
    name: 'two YAML documents',
    playbook: pb('---\nversion: 1\n'),
    file: 'playbook',
    line: 4,
    col: 1,
    path: '',
    message: 'more than one YAML document',
  },
  {
    name: 'custom tag',
    playbook: pb('images: !include more.yaml\n'),
    file: 'playbook',
    line: 4,
    col: 9,
    path: 'images',
    message: 'unsupported tag (!include)',
  },
  {
    name: 'alias without anchor',
    playbook: pb('images: *imgs\n'),
    file: 'playbook',
    line: 4,
    col: 9,
    path: '',
    message: 'alias *imgs has no anchor',
  },
  // ---- playbook: shapes
  {
    name: 'version 2',
    playbook: 'version: 2\nregistry:\n  address: master:5000\n',
    file: 'playbook',
    line: 1,
    col: 10,
    path: 'version',
    message: 'must be 1 (got 2)',
  },
  {
    name: 'missing version',
    playbook: 'registry:\n  address: master:5000\n',
    file: 'playbook',
    line: 1,
    col: 1,
    path: 'version',
    message: 'required key is missing',
  },
  {
    name: 'missing registry.address points at the registry mapping',
    playbook: 'version: 1\nregistry:\n  port: 5000\n',
    file: 'playbook',
    line: 3,
    col: 3,
    path: 'registry.address',
    message: 'required key is missing',
  },
  {
    name: 'registry left empty',
    playbook: 'version: 1\nregistry:\n',
    file: 'playbook',
    line: 2,
    col: 1,
    path: 'registry',
    message: 'must be a mapping (key: value lines), not nothing',
  },
  {
    name: 'unknown key under registry',
    playbook: pb('  ports: 5000\n'),
    file: 'playbook',
    line: 4,
    col: 3,
    path: 'registry.ports',
    message: "unknown key 'ports' (did you mean 'port'?)",
  },
  {
    name: 'registry address port out of range',
    playbook: 'version: 1\nregistry:\n  address: master:99999\n',
    file: 'playbook',
    line: 3,
    col: 12,
    path: 'registry.address',
    message: /must be host\[:port\]/,
  },
  {
    name: 'registry port out of range',
    playbook: pb('  port: 65536\n'),
    file: 'playbook',
    line: 4,
    col: 9,
    path: 'registry.port',
    message: 'must be between 1 and 65535 (got 65536)',
  },
  {
    name: 'restart policy not in its enum',
    playbook: pb('  restart: sometimes\n'),
    file: 'playbook',
    line: 4,
    col: 12,
    path: 'registry.restart',
    message: "must be one of no, always, unless-stopped, on-failure (got 'sometimes')",
  },
  {
    name: 'relative dataDir',
    playbook: pb('  dataDir: var/lib/registry\n'),
    file: 'playbook',
    line: 4,
    col: 12,
    path: 'registry.dataDir',
    message: /must be an absolute path/,
  },
  {
    name: 'remote path with a newline',
    playbook: pb('  dataDir: "/var/lib/\\nregistry"\n'),
    file: 'playbook',
    line: 4,
    col: 12,
    path: 'registry.dataDir',
    message: /must be an absolute path .*\(got '\/var\/lib\/\\x0aregistry'\)/,
  },
  {
    name: 'relative tls.dir',
    playbook: pb('tls:\n  dir: certs\n'),
    file: 'playbook',
    line: 5,
    col: 8,
    path: 'tls.dir',
    message: /must be an absolute path/,
  },
  {
    name: 'tls.dir a system directory (regbook makes it 0700)',
    playbook: pb('tls:\n  dir: /etc\n'),
    file: 'playbook',
    line: 5,
    col: 8,
    path: 'tls.dir',
    message:
      "the certificate directory '/etc' is a system directory; regbook makes it 0700, so give it one of its own",
  },
  {
    name: 'dataDir a shared system directory',
    playbook: pb('  dataDir: /var/lib/\n'),
    file: 'playbook',
    line: 4,
    col: 12,
    path: 'registry.dataDir',
    message: /^the data directory '\/var\/lib\/' is a system directory/,
  },
  {
    name: 'auth.file straight in /etc',
    playbook: pb(
      '  auth:\n    file: /etc/htpasswd\n    users:\n      - {username: ci, password: "${env:CI_PW}"}\n',
    ),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'registry.auth.file',
    message: /^the directory of the htpasswd file '\/etc' is a system directory/,
  },
  {
    name: 'relative auth.file',
    playbook: pb(
      '  auth:\n    file: htpasswd\n    users:\n      - {username: ci, password: "${env:CI_PW}"}\n',
    ),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'registry.auth.file',
    message: /must be an absolute path/,
  },
  {
    name: 'registry image with a semicolon',
    playbook: pb('  image: "registry:2;reboot"\n'),
    file: 'playbook',
    line: 4,
    col: 10,
    path: 'registry.image',
    message: /must be an image reference/,
  },
  {
    name: 'env key outside REGISTRY_*',
    playbook: pb('  env:\n    PATH: /tmp\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.env.PATH',
    message: "key 'PATH' must be a registry setting name",
  },
  {
    name: 'env reference inside a registry.env value, not the whole of it',
    playbook: pb('  env:\n    REGISTRY_HTTP_SECRET: x-${env:SECRET}\n'),
    file: 'playbook',
    line: 5,
    col: 27,
    path: 'registry.env.REGISTRY_HTTP_SECRET',
    message: /either \$\{env:NAME\} as a whole or plain text/,
  },
  {
    name: 'a registry.env setting regbook owns (auth)',
    playbook: pb('  env:\n    REGISTRY_AUTH: none\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_AUTH',
    message: /REGISTRY_AUTH is set by regbook; use registry\.auth/,
  },
  {
    name: 'a registry.env setting regbook owns (TLS)',
    playbook: pb('  env:\n    REGISTRY_HTTP_TLS_KEY: /k\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_HTTP_TLS_KEY',
    message: /TLS comes from the tls section/,
  },
  {
    name: 'a registry.env setting regbook owns (storage root)',
    playbook: pb('  env:\n    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: /d\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY',
    message: /use registry\.dataDir instead/,
  },
  {
    name: 'a registry.env setting regbook owns (listen address)',
    playbook: pb('  env:\n    REGISTRY_HTTP_ADDR: 0.0.0.0:443\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_HTTP_ADDR',
    message: /use registry\.port and registry\.bind instead/,
  },
  {
    name: 'a registry.env setting regbook owns (delete switch)',
    playbook: pb('  env:\n    REGISTRY_STORAGE_DELETE_ENABLED: "true"\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_STORAGE_DELETE_ENABLED',
    message: /use registry\.deleteEnabled instead/,
  },
  {
    name: 'a literal password is refused and never echoed',
    playbook: pb('  auth:\n    users:\n      - username: ci\n        password: hunter2-secret\n'),
    file: 'playbook',
    line: 7,
    col: 19,
    path: 'registry.auth.users.0.password',
    message: /must be a reference to an environment variable such as \$\{env:NAME\}/,
    never: 'hunter2-secret',
  },
  {
    name: 'auth without users',
    playbook: pb('  auth:\n    users: []\n'),
    file: 'playbook',
    line: 5,
    col: 12,
    path: 'registry.auth.users',
    message: 'must list at least 1 item',
  },
  // ---- playbook: TLS
  {
    name: 'SAN without a type',
    playbook: pb('tls:\n  subjectAltNames: [master]\n'),
    file: 'playbook',
    line: 5,
    col: 21,
    path: 'tls.subjectAltNames.0',
    message: /must be DNS:<host name>, DNS:\*\.<domain> or IP:/,
  },
  {
    name: 'SAN with an impossible IPv4',
    playbook: pb('tls:\n  subjectAltNames: [DNS:master, IP:300.1.1.1]\n'),
    file: 'playbook',
    line: 5,
    col: 33,
    path: 'tls.subjectAltNames.1',
    message: "(got 'IP:300.1.1.1')",
  },
  {
    name: 'SAN with a two-label wildcard',
    playbook: pb('tls:\n  subjectAltNames: [DNS:master, "DNS:*.*.lan"]\n'),
    file: 'playbook',
    line: 5,
    col: 33,
    path: 'tls.subjectAltNames.1',
    message: "(got 'DNS:*.*.lan')",
  },
  {
    name: 'the same SAN twice',
    playbook: pb('tls:\n  subjectAltNames: [DNS:master, DNS:master]\n'),
    file: 'playbook',
    line: 5,
    col: 33,
    path: 'tls.subjectAltNames.1',
    message: "repeats item 0 (got 'DNS:master')",
  },
  {
    name: 'registry address not covered by the SANs',
    playbook: pb('tls:\n  subjectAltNames: [DNS:registry, IP:127.0.0.1]\n'),
    file: 'playbook',
    line: 3,
    col: 12,
    path: 'registry.address',
    message:
      "host 'master' is not covered by tls.subjectAltNames (DNS:registry, IP:127.0.0.1); add DNS:master",
  },
  {
    name: 'a wildcard covers one label only',
    playbook:
      'version: 1\nregistry:\n  address: a.reg.example.com:5000\ntls:\n  subjectAltNames: ["DNS:*.example.com"]\n',
    file: 'playbook',
    line: 3,
    col: 12,
    path: 'registry.address',
    message: "host 'a.reg.example.com' is not covered",
  },
  {
    name: 'a DNS SAN does not cover an IP address',
    playbook: 'version: 1\nregistry:\n  address: 10.0.0.10:5000\ntls:\n  subjectAltNames: [DNS:master]\n',
    file: 'playbook',
    line: 3,
    col: 12,
    path: 'registry.address',
    message: 'add IP:10.0.0.10',
  },
  {
    name: 'keyBits below 2048',
    playbook: pb('tls:\n  keyBits: 1024\n'),
    file: 'playbook',
    line: 5,
    col: 12,
    path: 'tls.keyBits',
    message: 'must be between 2048 and 8192 (got 1024)',
  },
  {
    name: 'days as a string',
    playbook: pb('tls:\n  days: "800"\n'),
    file: 'playbook',
    line: 5,
    col: 9,
    path: 'tls.days',
    message: "must be a whole number, not '800'",
  },
  {
    name: 'renewBeforeDays not below days',
    playbook: pb('tls:\n  days: 30\n  renewBeforeDays: 30\n'),
    file: 'playbook',
    line: 6,
    col: 20,
    path: 'tls.renewBeforeDays',
    message: 'renewBeforeDays (30) must be less than days (30)',
  },
  {
    name: 'days at or below the default renewBeforeDays points at days',
    playbook: pb('tls:\n  days: 20\n'),
    file: 'playbook',
    line: 5,
    col: 9,
    path: 'tls.days',
    message: 'renewBeforeDays (30) must be less than days (20)',
  },
  {
    name: 'tls mode not in its enum',
    playbook: pb('tls:\n  mode: letsencrypt\n'),
    file: 'playbook',
    line: 5,
    col: 9,
    path: 'tls.mode',
    message: "must be one of ca, selfsigned, none (got 'letsencrypt')",
  },
  // ---- playbook: trust
  {
    name: 'trust.hosts neither a keyword nor a list',
    playbook: pb('trust:\n  hosts: everyone\n'),
    file: 'playbook',
    line: 5,
    col: 10,
    path: 'trust.hosts',
    message: "must be all, workers or a list of host names (got 'everyone')",
  },
  {
    name: 'trust.hosts names a host the inventory lacks',
    playbook: pb('trust:\n  hosts: [master, worker9]\n'),
    file: 'playbook',
    line: 5,
    col: 19,
    path: 'trust.hosts.1',
    message: "no host named 'worker9'",
  },
  {
    name: 'restartDocker not in its enum',
    playbook: pb('trust:\n  restartDocker: sometimes\n'),
    file: 'playbook',
    line: 5,
    col: 18,
    path: 'trust.restartDocker',
    message: "must be one of on-change, never, always (got 'sometimes')",
  },
  {
    name: 'docker without certs.d and without a restart would never trust the registry',
    playbook: pb('trust:\n  dockerCertsD: false\n'),
    file: 'playbook',
    line: 5,
    col: 17,
    path: 'trust.dockerCertsD',
    message: /docker would never trust the registry: with dockerCertsD: false/,
  },
  {
    name: 'docker without certs.d, with the OS store but no restart',
    playbook: pb('trust:\n  dockerCertsD: false\n  system: true\n'),
    file: 'playbook',
    line: 5,
    col: 17,
    path: 'trust.dockerCertsD',
    message: /or system: true with restartDocker: on-change/,
  },
  {
    name: 'restartDocker on-change without the OS store would never restart',
    playbook: pb('trust:\n  restartDocker: on-change\n'),
    file: 'playbook',
    line: 5,
    col: 18,
    path: 'trust.restartDocker',
    message: /trust.system is false, so it never would/,
  },
  {
    name: 'restartDocker with docker not among the runtimes',
    playbook: pb('trust:\n  runtimes: [containerd]\n  restartDocker: always\n'),
    file: 'playbook',
    line: 6,
    col: 18,
    path: 'trust.restartDocker',
    message: 'restartDocker: always restarts docker, but docker is not in trust.runtimes',
  },
  {
    name: 'images pushed with docker that is not among the runtimes',
    playbook: pb('trust:\n  runtimes: [podman]\nimages:\n  - name: app\n'),
    file: 'playbook',
    line: 5,
    col: 13,
    path: 'trust.runtimes',
    message: /images are pushed and pulled with docker.*add docker to trust.runtimes/,
  },
  {
    name: 'an unknown runtime',
    playbook: pb('trust:\n  runtimes: [docker, cri-o]\n'),
    file: 'playbook',
    line: 5,
    col: 22,
    path: 'trust.runtimes.1',
    message: /must be one of docker, containerd, podman/,
  },
  {
    name: 'serial below one',
    playbook: pb('trust:\n  serial: 0\n'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'trust.serial',
    message: /1/,
  },
  {
    name: 'auth with tls.mode none says why',
    playbook: pb('  auth:\n    users: [{username: ci, password: "${env:P}"}]\ntls:\n  mode: none\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'registry.auth',
    message: /auth needs TLS: with tls.mode none the passwords would cross the network in clear text/,
  },
  // ---- playbook: images
  {
    name: 'image name with a semicolon',
    playbook: image('"app;reboot"'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'images.0.name',
    message: "(got 'app;reboot')",
  },
  {
    name: 'image name with command substitution',
    playbook: image('"app:$(id)"'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'images.0.name',
    message: /must be an image name such as app:0\.1/,
  },
  {
    name: 'image name with backticks',
    playbook: image('"app:`id`"'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'images.0.name',
    message: "(got 'app:`id`')",
  },
  {
    name: 'image name with a space',
    playbook: image('"my app:1"'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'images.0.name',
    message: "(got 'my app:1')",
  },
  {
    name: 'image name in uppercase',
    playbook: image('App:0.1'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'images.0.name',
    message: "(got 'App:0.1')",
  },
  {
    name: 'image name with a registry host and port',
    playbook: image('localhost:5000/app:1'),
    file: 'playbook',
    line: 5,
    col: 11,
    path: 'images.0.name',
    message: /must be an image name/,
  },
  {
    name: 'image without name',
    playbook: pb('images:\n  - state: present\n'),
    file: 'playbook',
    line: 5,
    col: 5,
    path: 'images.0.name',
    message: 'required key is missing',
  },
  {
    name: 'image declared twice (missing tag is latest)',
    playbook: pb('images:\n  - name: app\n  - name: app:latest\n'),
    file: 'playbook',
    line: 6,
    col: 11,
    path: 'images.1.name',
    message: 'image app:latest is already declared at images.0 (line 5)',
  },
  {
    name: 'source with two kinds',
    playbook: pb('images:\n  - name: app:1\n    source: {host: master, pull: app:1}\n'),
    file: 'playbook',
    line: 6,
    col: 13,
    path: 'images.0.source',
    message: 'must set exactly one of host, archive, pull',
  },
  {
    name: 'source.pull that is not a reference',
    playbook: pb('images:\n  - name: app:1\n    source: {pull: "docker.io/app:1 --privileged"}\n'),
    file: 'playbook',
    line: 6,
    col: 20,
    path: 'images.0.source.pull',
    message: /must be an image reference/,
  },
  {
    name: 'source.host the inventory lacks',
    playbook: pb('images:\n  - name: app:1\n    source: {host: builder}\n'),
    file: 'playbook',
    line: 6,
    col: 20,
    path: 'images.0.source.host',
    message: "no host named 'builder' in",
  },
  {
    name: 'pullOn names a host the inventory lacks',
    playbook: pb('images:\n  - name: app:1\n    pullOn: [worker1, worker3]\n'),
    file: 'playbook',
    line: 6,
    col: 23,
    path: 'images.0.pullOn.1',
    message: "no host named 'worker3'",
  },
  {
    name: 'state absent while deletes are disabled',
    playbook: pb('images:\n  - name: old:0.1\n    state: absent\n'),
    file: 'playbook',
    line: 6,
    col: 12,
    path: 'images.0.state',
    message: 'state: absent needs registry.deleteEnabled: true',
  },
  {
    name: 'a host pulls an image but does not trust the registry',
    playbook: pb('trust:\n  hosts: [master]\nimages:\n  - name: app:1\n    pullOn: [worker1]\n'),
    file: 'playbook',
    line: 8,
    col: 13,
    path: 'images.0.pullOn',
    message: 'worker1 pulls app:1 but is not in trust.hosts',
  },
  {
    name: 'images as a mapping',
    playbook: pb('images:\n  app: 0.1\n'),
    file: 'playbook',
    line: 5,
    col: 3,
    path: 'images',
    message: 'must be a list, not a mapping',
  },
];

describe('bad input is refused with file:line:col, key path and plain words', () => {
  for (const c of cases) {
    it(c.name, () => {
      const diagnostics = diagnosticsOf(c.playbook ?? GOOD_PLAYBOOK, c.inventory ?? GOOD_INVENTORY);
      const lines = diagnostics.map(formatDiagnostic);
      const fileSuffix = c.file === 'playbook' ? 'site.yaml' : 'inventory.yaml';
      const match = diagnostics.find(
        (d) =>
          d.file.endsWith(fileSuffix) &&
          d.line === c.line &&
          d.col === c.col &&
          d.path === c.path &&
          (typeof c.message === 'string' ? d.message.includes(c.message) : c.message.test(d.message)),
      );
      assert.ok(
        match,
        `no diagnostic ${fileSuffix}:${c.line}:${c.col}: ${c.path}: ${String(c.message)}\ngot:\n${lines.join('\n')}`,
      );
      // The printed form carries the same facts.
      assert.match(
        formatDiagnostic(match),
        new RegExp(
          `${fileSuffix}:${c.line}:${c.col}: ${c.path ? c.path.replace(/\./g, '\\.') : '\\(document\\)'}: `,
        ),
      );
      if (c.never) for (const l of lines) assert.ok(!l.includes(c.never), `secret echoed: ${l}`);
    });
  }

  it('reports every problem, not only the first', () => {
    const diagnostics = diagnosticsOf(
      pb('  port: 0\n  restart: sometimes\nimages:\n  - name: App\n'),
      'master:\n  name: master\n  address: 10.0.0.10\n  colour: blue\n',
    );
    assert.deepEqual(
      diagnostics.map((d) => d.path),
      ['master.colour', 'registry.port', 'registry.restart', 'images.0.name'],
    );
  });

  it('a file over 1 MiB is refused before parsing, naming the file and its size; 1 MiB itself is read', () => {
    // A comment line is valid YAML: padding past the limit leaves the file otherwise valid.
    const pad = (bytes: number, text: string) =>
      text + '#'.repeat(bytes - Buffer.byteLength(text) - 1) + '\n';
    const big = diagnosticsOf(pad(1024 * 1024 + 1, GOOD_PLAYBOOK), GOOD_INVENTORY);
    assert.deepEqual(big.map(formatDiagnostic), [
      `${big[0]?.file}:1:1: (document): the file is 1.0 MiB (1048577 bytes); the limit is 1 MiB (1048576 bytes), so it was not parsed`,
    ]);
    assert.match(big[0]!.file, /site\.yaml$/);
    const bigInv = diagnosticsOf(GOOD_PLAYBOOK, pad(3 * 1024 * 1024, GOOD_INVENTORY));
    assert.match(
      formatDiagnostic(bigInv[0]!),
      /inventory\.yaml:1:1: .*the file is 3\.0 MiB \(3145728 bytes\)/,
    );
    assert.equal(load(pad(1024 * 1024, GOOD_PLAYBOOK)).playbook.version, 1);
  });

  it('a YAML bomb fails fast', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const start = performance.now();
    const diagnostics = diagnosticsOf(levels.join('\n') + '\n', GOOD_INVENTORY);
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 500, `took ${elapsed.toFixed(0)} ms`);
    assert.equal(diagnostics.length, 1);
    assert.match(formatDiagnostic(diagnostics[0]!), /site\.yaml:1:1: \(document\): aliases expand too much/);
  });
});
