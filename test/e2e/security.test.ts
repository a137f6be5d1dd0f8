// The security guarantees that live on the hosts, checked with the hosts' own tools (openssl,
// curl, stat, docker) rather than with regbook's code: the trust anchor vouches for the registry's
// names only, the registry refuses TLS below 1.2, the master's secret directories are root's alone,
// and stored password hashes are bcrypt at cost 12.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { lab, type Lab } from '../helpers/lab.js';
import { regbook, tempDir } from '../helpers/cli.js';
import {
  applyJson,
  basePlaybook,
  checkThenApply,
  explain,
  writePlaybook,
  type PlaybookDoc,
} from './registry.js';

const CERTS = '/etc/regbook/certs';
const ANCHOR = '/etc/docker/certs.d/master:5000/ca.crt';

/** A leaf for `san` made on the master and signed with the key at `caKey` (cert at `caCrt`); prints its PEM. */
const signLeafScript = (san: string, caCrt = `${CERTS}/ca.crt`, caKey = `${CERTS}/ca.key`) => `
set -e
d=$(mktemp -d)
openssl req -new -newkey rsa:2048 -nodes -keyout "$d/k" -subj /CN=leaf -out "$d/csr" 2>/dev/null
printf 'subjectAltName=%s\\nbasicConstraints=critical,CA:FALSE\\n' '${san}' > "$d/ext"
openssl x509 -req -in "$d/csr" -CA ${caCrt} -CAkey ${caKey} -set_serial 77 -days 2 -extfile "$d/ext" -out "$d/crt" 2>/dev/null
cat "$d/crt"; rm -rf "$d"
`;

describe('security on the lab: trust anchor, TLS minimum, private directories, bcrypt', () => {
  let L: Lab;
  let dir: string;
  let inv: string;
  let pb: string;
  let doc: PlaybookDoc;
  const password = 'correct-horse-battery-staple';
  const env = { REGBOOK_SEC_PW: password };

  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir();
    inv = await L.writeInventory({ hosts: ['master', 'worker1'] });
    doc = basePlaybook();
    doc.registry.auth = { users: [{ username: 'ci', password: '${env:REGBOOK_SEC_PW}' }] };
    doc.images = [{ name: 'app:0.1', source: { host: 'master' }, pullOn: 'workers' }];
    pb = writePlaybook(dir, doc);
  });
  after(async () => {
    await L?.reset();
  });

  it('the CA is constrained to the SANs with path length 0, and docker, curl and openssl accept the registry', async () => {
    await checkThenApply(pb, inv, L, env);
    const ca = await L.shOk('worker1', `openssl x509 -in ${ANCHOR} -noout -text`);
    assert.match(ca, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(
      ca,
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:master\s+IP:127\.0\.0\.1\/255\.255\.255\.255/,
    );
    // docker pulled through the registry with this anchor (the apply's images task), curl and
    // openssl's own chain and name checks accept what the registry serves.
    await L.shOk('worker1', 'docker image inspect master:5000/app:0.1 >/dev/null');
    const code = await L.shOk(
      'worker1',
      `curl -sS --cacert ${ANCHOR} -o /dev/null -w '%{http_code}' https://master:5000/v2/`,
    );
    assert.equal(code, '401', 'TLS verified; the registry then asks for credentials');
    const sClient = await L.sh(
      'worker1',
      `openssl s_client -connect master:5000 -servername master -CAfile ${ANCHOR} -verify_hostname master -verify_return_error </dev/null`,
    );
    assert.equal(sClient.code, 0, sClient.stderr);
    assert.match(sClient.stdout, /Verify return code: 0 \(ok\)/);
    // containerd (ctr with docker's certs.d as its hosts directory) and skopeo (the library podman
    // and CRI-O share) verify the constrained CA too: they pull and inspect with it.
    const creds = `ci:${password}`;
    const ctr = await L.sh(
      'worker1',
      'read -r c; ctr --address /run/containerd/containerd.sock -n regbook-test images pull ' +
        '--hosts-dir /etc/docker/certs.d --user "$c" master:5000/app:0.1 >/dev/null && ' +
        'ctr --address /run/containerd/containerd.sock -n regbook-test images rm master:5000/app:0.1 >/dev/null',
      { stdin: `${creds}\n` },
    );
    assert.equal(ctr.code, 0, ctr.stdout + ctr.stderr);
    const skopeo = await L.sh(
      'worker1',
      'read -r c; skopeo inspect --creds "$c" --format "{{.Name}}" docker://master:5000/app:0.1',
      { stdin: `${creds}\n` },
    );
    assert.equal(skopeo.code, 0, skopeo.stdout + skopeo.stderr);
    assert.equal(skopeo.stdout.trim(), 'master:5000/app');
  });

  it('a leaf for any other name signed with the CA key fails openssl verify on the hosts that trust it', async () => {
    const github = await L.shOk('master', signLeafScript('DNS:github.com'));
    const other = await L.sh(
      'worker1',
      `cat > /tmp/leaf.crt; openssl verify -CAfile ${ANCHOR} /tmp/leaf.crt`,
      {
        stdin: github,
      },
    );
    assert.notEqual(other.code, 0, other.stdout);
    assert.match(other.stdout + other.stderr, /permitted subtree violation/);
    // The same procedure for the registry's own name passes: the refusal above is the constraint.
    const own = await L.shOk('master', signLeafScript('DNS:master'));
    const ok = await L.sh('worker1', `cat > /tmp/leaf.crt; openssl verify -CAfile ${ANCHOR} /tmp/leaf.crt`, {
      stdin: own,
    });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('the registry refuses TLS 1.1 and accepts TLS 1.2', async () => {
    // OPENSSL_CONF=/dev/null and SECLEVEL=0: Debian's client defaults would refuse TLS 1.1 on
    // their own, and the test would then prove nothing about the server.
    const hello = (version: string) =>
      L.sh(
        'worker1',
        `OPENSSL_CONF=/dev/null openssl s_client ${version} -cipher 'DEFAULT:@SECLEVEL=0' -connect master:5000 -servername master </dev/null`,
      );
    const old = await hello('-tls1_1');
    assert.notEqual(old.code, 0, old.stdout);
    // Alert 70, protocol_version: the server refuses the version (not a cipher mismatch).
    assert.match(old.stdout + old.stderr, /alert protocol version/i);
    // distribution 2.8 (the lab's) defaults to 1.2 already; the setting pins it for any image.
    const env = await L.shOk('master', "docker inspect --format '{{json .Config.Env}}' registry");
    assert.ok(env.includes('"REGISTRY_HTTP_TLS_MINIMUMTLS=tls1.2"'), env);
    const current = await hello('-tls1_2');
    assert.equal(current.code, 0, current.stderr);
    assert.match(current.stdout, /Protocol\s*:\s*TLSv1\.2/);
  });

  it('tls.dir, the auth directory and dataDir are root 0700; looser ones are corrected, as check predicts', async () => {
    const dirs = `${CERTS} /etc/regbook/auth /var/lib/regbook/registry`;
    const modes = async () => (await L.shOk('master', `stat -c '%n %a %U' ${dirs}`)).trim();
    const tight = `${CERTS} 700 root\n/etc/regbook/auth 700 root\n/var/lib/regbook/registry 700 root`;
    assert.equal(await modes(), tight);
    await L.shOk(
      'master',
      `chmod 777 ${CERTS}; chmod 755 /etc/regbook/auth; chown 1000:1000 /etc/regbook/auth; chmod 755 /var/lib/regbook/registry`,
    );
    const { check, apply } = await checkThenApply(pb, inv, L, env);
    assert.deepEqual(apply.pairs, ['master/auth', 'master/registry', 'master/tls']);
    const what = check.tasks.flatMap((t) => t.changes.map((c) => `${c.what}: ${c.from} → ${c.to}`));
    assert.ok(what.includes(`${CERTS} (directory): 777 root → 700 root`), what.join('\n'));
    assert.ok(
      what.includes('/etc/regbook/auth (directory): 755 uid 1000 gid 1000 → 700 root'),
      what.join('\n'),
    );
    assert.equal(await modes(), tight);
    const again = await applyJson(pb, inv, [], env);
    assert.deepEqual(again.pairs, [], explain(again));
  });

  it('htpasswd holds bcrypt cost 12; a weaker stored hash of the same password is rehashed', async () => {
    const read = async () => (await L.shOk('master', 'cat /etc/regbook/auth/htpasswd')).trim();
    assert.match(await read(), /^ci:\$2b\$12\$/);
    const weak = `ci:${bcrypt.hashSync(password, 10)}\n`;
    await L.sh('master', 'cat > /etc/regbook/auth/htpasswd', { stdin: weak });
    const { apply } = await checkThenApply(pb, inv, L, env);
    assert.ok(apply.pairs.includes('master/auth'), apply.pairs.join(' '));
    const stored = await read();
    assert.match(stored, /^ci:\$2b\$12\$/);
    assert.ok(bcrypt.compareSync(password, stored.slice(3)));
  });

  it('a CA without constraints (as earlier versions made it) is reissued and its anchor replaced on every host', async () => {
    // The pair an unconstrained CA would have left: a CA:TRUE certificate without name
    // constraints, and the server certificate it signed.
    await L.shOk(
      'master',
      `set -e; cd ${CERTS}
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj '/CN=master regbook CA' \
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
      openssl req -new -key server.key -subj /CN=master -out /tmp/s.csr
      printf 'subjectAltName=DNS:master,IP:127.0.0.1\\nbasicConstraints=critical,CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > /tmp/s.ext
      openssl x509 -req -in /tmp/s.csr -CA ca.crt -CAkey ca.key -set_serial 5 -days 30 -extfile /tmp/s.ext -out server.crt 2>/dev/null
      chmod 600 ca.key; chmod 444 ca.crt server.crt`,
    );
    // Converge the hosts on that CA first (trust only), as an older version would have left them.
    await L.sh('worker1', `cat > ${ANCHOR}`, { stdin: await L.shOk('master', `cat ${CERTS}/ca.crt`) });
    const { check, apply } = await checkThenApply(pb, inv, L, env);
    for (const pair of ['master/tls', 'master/registry', 'master/trust', 'worker1/trust']) {
      assert.ok(apply.pairs.includes(pair), `${pair} missing from ${apply.pairs.join(' ')}`);
    }
    const why = check.tasks
      .find((t) => t.task === 'tls')!
      .changes.map((c) => c.why ?? '')
      .join(' ');
    assert.match(why, /no critical name constraints/);
    assert.match(
      await L.shOk('worker1', `openssl x509 -in ${ANCHOR} -noout -text`),
      /Name Constraints: critical/,
    );
    await L.shOk('worker1', 'docker rmi master:5000/app:0.1 >/dev/null');
    const again = await applyJson(pb, inv, [], env);
    assert.deepEqual(again.pairs, ['worker1/images'], explain(again));
  });
});

describe('SSH host keys on the lab: accept-new, off, @cert-authority', () => {
  let L: Lab;
  let dir: string;
  let pb: string;

  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir();
    pb = writePlaybook(dir, basePlaybook());
  });
  after(async () => {
    await L?.reset();
  });

  /** The SHA256 fingerprint of the host's own ed25519 key, read on the host. */
  const hostFingerprint = async (h: string) =>
    (await L.shOk(h, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!;

  it('accept-new: --check records nothing and says so; apply records the key and prints its fingerprint', async () => {
    const kh = join(dir, 'known_hosts.accept-new');
    writeFileSync(kh, '');
    const inv = await L.writeInventory({ hosts: ['master'], hostKeyChecking: 'accept-new', knownHosts: kh });
    const fp = await hostFingerprint('master');
    const name = `[${L.master.address}]:${L.master.port}`;
    const check = await regbook(['apply', pb, '-i', inv, '--check', '--tags', 'tls']);
    assert.equal(check.code, 0, explain(check));
    assert.match(check.stderr, /accepting the unknown host key of .* for this check only/);
    assert.ok(check.stderr.includes(fp), check.stderr);
    assert.equal(readFileSync(kh, 'utf8'), '', '--check wrote to known_hosts');
    const apply = await regbook(['apply', pb, '-i', inv, '--tags', 'tls']);
    assert.equal(apply.code, 0, explain(apply));
    assert.ok(
      apply.stderr.includes(`Warning: Permanently added '${name}' (ED25519) to the list of known hosts`),
      apply.stderr,
    );
    assert.ok(apply.stderr.includes(`master's host key fingerprint is ${fp}`), apply.stderr);
    assert.match(readFileSync(kh, 'utf8'), new RegExp(`^${name.replace(/[[\].]/g, '\\$&')} ssh-ed25519 `));
    const again = await regbook(['apply', pb, '-i', inv, '--check', '--tags', 'tls']);
    assert.doesNotMatch(
      again.stderr,
      /Permanently added|accepting the unknown/,
      'a recorded key is not news',
    );
  });

  it('off: every run warns that the host key is not verified', async () => {
    const inv = await L.writeInventory({ hosts: ['master'], hostKeyChecking: 'off' });
    for (let i = 0; i < 2; i++) {
      const r = await regbook(['apply', pb, '-i', inv, '--check', '--tags', 'tls']);
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stderr, /Warning: master: hostKeyChecking is off; the host key of .* is not verified/);
    }
  });

  it('@cert-authority: OpenSSH and regbook both log in on the host certificate, and both refuse a certificate for another name', async () => {
    const w = L.workers.find((x) => x.user === 'root')!;
    const ca = join(dir, 'host_ca');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab host CA', '-f', ca]);
    const pub = await L.shOk(w.name, 'cat /etc/ssh/ssh_host_ed25519_key.pub');
    /** The host's own ed25519 key certified for `principals`: the certificate's text. */
    const certify = (principals: string): string => {
      const hostPub = join(dir, `host_key_${principals.replace(/\W/g, '_')}.pub`);
      writeFileSync(hostPub, pub);
      execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', w.name, '-h', '-n', principals, hostPub]);
      return readFileSync(hostPub.replace(/\.pub$/, '-cert.pub'), 'utf8');
    };
    const install = async (cert: string) => {
      const r = await L.sh(
        w.name,
        'cat > /etc/ssh/ssh_host_ed25519_key-cert.pub && ' +
          'echo "HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub" > /etc/ssh/sshd_config.d/zz-regbook-test-cert.conf && ' +
          'service ssh restart >/dev/null',
        { stdin: cert },
      );
      assert.equal(r.code, 0, r.stderr);
    };
    // known_hosts: the lab's plain entries for the other hosts, only the CA for this one.
    const name = `[${w.address}]:${w.port}`;
    const kh = join(dir, 'known_hosts.ca');
    const others = readFileSync(L.knownHostsPath, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith(`${name} `));
    const khText = [
      ...others,
      `@cert-authority ${name} ${readFileSync(`${ca}.pub`, 'utf8').trim()}`,
      '',
    ].join('\n');
    writeFileSync(kh, khText);
    const openssh = () =>
      spawnSync(
        'ssh',
        [
          '-i',
          L.keyPath,
          '-o',
          `UserKnownHostsFile=${kh}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'BatchMode=yes',
          '-p',
          String(w.port),
          `root@${w.address}`,
          'echo in',
        ],
        { encoding: 'utf8' },
      );
    const logins = async () =>
      Number((await L.shOk(w.name, "grep -c 'Accepted publickey' /var/log/sshd.log || true")).trim());
    const inv = await L.writeInventory({ hosts: ['master', w.name], knownHosts: kh });
    try {
      await install(certify(`${w.address},${w.name}`));
      const ssh = openssh();
      assert.equal(ssh.status, 0, ssh.stderr);
      assert.equal(ssh.stdout.trim(), 'in');
      // regbook logs in on the certificate and runs its commands there; known_hosts gains nothing.
      const before = await logins();
      const ok = await regbook(['apply', pb, '-i', inv, '--check', '--tags', 'tls', '--limit', w.name]);
      assert.equal(ok.code, 0, explain(ok));
      assert.equal(await logins(), before + 1, 'regbook did not log in to the host');
      assert.equal(readFileSync(kh, 'utf8'), khText, 'known_hosts was written to');

      // A certificate from the same CA for another name: OpenSSH and regbook refuse it.
      await install(certify('other-host.example'));
      const refused = openssh();
      assert.equal(refused.status, 255, refused.stdout);
      assert.match(refused.stderr, /Host key verification failed/);
      const atRefusal = await logins();
      const r = await regbook(['apply', pb, '-i', inv, '--check', '--tags', 'tls', '--limit', w.name]);
      assert.equal(r.code, 4, explain(r));
      assert.match(
        r.stdout + r.stderr,
        new RegExp(
          `"${w.address.replace(/\./g, '\\.')}" is not among its principals \\("other-host\\.example"\\)`,
        ),
      );
      assert.equal(await logins(), atRefusal, 'regbook authenticated to a host whose certificate it refused');
    } finally {
      await L.sh(
        w.name,
        'rm -f /etc/ssh/ssh_host_ed25519_key-cert.pub /etc/ssh/sshd_config.d/zz-regbook-test-cert.conf; service ssh restart >/dev/null',
      );
    }
  });
});

describe('selfsigned mode on the lab: the certificate every host trusts is no CA', () => {
  let L: Lab;

  before(async () => {
    L = await lab();
    await L.reset();
  });
  after(async () => {
    await L?.reset();
  });

  it('a CA:TRUE self-signed certificate (as earlier versions made it) is made again as CA:FALSE, and trusted anew', async () => {
    const dir = tempDir();
    const inv = await L.writeInventory({ hosts: ['master', 'worker1'] });
    const doc = basePlaybook();
    doc.tls = { mode: 'selfsigned', commonName: 'master', subjectAltNames: ['DNS:master', 'IP:127.0.0.1'] };
    doc.images = [];
    const pb = writePlaybook(dir, doc);
    await checkThenApply(pb, inv, L);
    const text = () => L.shOk('master', `openssl x509 -in ${CERTS}/server.crt -noout -text`);
    assert.match(await text(), /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    await L.shOk(
      'master',
      `cd ${CERTS} && openssl req -x509 -key server.key -out server.crt -days 30 -subj /CN=master ` +
        `-addext 'subjectAltName=DNS:master,IP:127.0.0.1' -addext 'basicConstraints=critical,CA:TRUE' ` +
        `-addext 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign' && chmod 444 server.crt`,
    );
    const { check, apply } = await checkThenApply(pb, inv, L);
    for (const pair of ['master/tls', 'master/registry', 'master/trust', 'worker1/trust']) {
      assert.ok(apply.pairs.includes(pair), `${pair} missing from ${apply.pairs.join(' ')}`);
    }
    const why = check.tasks.flatMap((t) => t.changes.map((c) => c.why ?? '')).join(' ');
    assert.match(why, /self-signed certificate is a CA/);
    assert.match(await text(), /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    await L.shOk(
      'worker1',
      `cmp ${ANCHOR} /dev/stdin <<'EOF'\n${await L.shOk('master', `cat ${CERTS}/server.crt`)}EOF`,
    );
  });
});

describe('a new registry address on the lab: the old anchors regbook wrote go from every host', () => {
  let L: Lab;
  const OLD = 'master:5000';
  const NEW = 'registry.lab:5000';
  const OPERATOR = '/etc/docker/certs.d/other.example:443/ca.crt';
  const hosts = ['master', 'worker1', 'worker2'];
  /** What regbook writes for `address` with docker and podman trust and the OS store. */
  const written = (address: string) => [
    `/etc/docker/certs.d/${address}/ca.crt`,
    `/etc/containers/certs.d/${address}/ca.crt`,
    `/usr/local/share/ca-certificates/regbook-${address.replace(':', '_')}.crt`,
  ];
  const exists = async (h: string, path: string) => (await L.sh(h, `test -e '${path}'`)).code === 0;

  before(async () => {
    L = await lab();
    await L.reset();
    // A second name for the master, as a DNS change would give it.
    for (const h of hosts) {
      await L.shOk(
        h,
        `grep -q ' registry.lab$' /etc/hosts || echo "$(getent hosts master | cut -d' ' -f1) registry.lab" >> /etc/hosts`,
      );
    }
  });
  after(async () => {
    for (const h of hosts) {
      await L?.sh(
        h,
        `sed '/ registry.lab$/d' /etc/hosts > /tmp/h && cat /tmp/h > /etc/hosts; rm -rf /etc/containers/certs.d /etc/containers/registries.conf.d/regbook-* /etc/docker/certs.d/other.example:443`,
      );
    }
    await L?.reset();
  });

  it('moving master:5000 to registry.lab:5000 removes what regbook wrote for the old address, and nothing else', async () => {
    const dir = tempDir();
    const inv = await L.writeInventory({ hosts });
    const doc = basePlaybook();
    doc.trust = { hosts: 'all', runtimes: ['docker', 'podman'], system: true, restartDocker: 'never' };
    doc.images = [];
    const first = await applyJson(writePlaybook(dir, doc), inv);
    assert.equal(first.code, 0, explain(first));
    for (const h of hosts) for (const p of written(OLD)) assert.ok(await exists(h, p), `${h}: ${p} missing`);
    const oldCa = await L.shOk('master', `cat ${CERTS}/ca.crt`);
    // An operator's own anchors: one for another registry, one file beside regbook's.
    for (const h of hosts) {
      await L.sh(h, `mkdir -p /etc/docker/certs.d/other.example:443 && cat > ${OPERATOR}`, { stdin: oldCa });
    }
    await L.sh('worker1', `cat > /etc/docker/certs.d/${OLD}/client.cert`, { stdin: 'an operator file\n' });

    // The new address, so new SANs and a new CA; worker2 leaves trust.hosts (it stays in the inventory).
    doc.registry.address = NEW;
    doc.tls.subjectAltNames = ['DNS:master', 'DNS:registry.lab', 'IP:127.0.0.1'];
    doc.trust.hosts = ['master', 'worker1'];
    doc.images = [{ name: 'app:0.1', source: { host: 'master' }, pullOn: ['worker1'] }];
    const pb = writePlaybook(dir, doc);
    const { check, apply } = await checkThenApply(pb, inv, L);
    for (const h of hosts) {
      const removed = check.tasks
        .filter((t) => t.host === h && t.task === 'trust')
        .flatMap((t) => t.changes)
        .filter((c) => c.to === 'absent')
        .map((c) => c.what)
        .sort();
      assert.deepEqual(removed, [...written(OLD)].sort(), `${h}: --check predicts the removals`);
    }
    for (const pair of ['master/tls', 'master/trust', 'worker1/trust', 'worker2/trust']) {
      assert.ok(apply.pairs.includes(pair), `${pair} missing from ${apply.pairs.join(' ')}`);
    }
    assert.notEqual(await L.shOk('master', `cat ${CERTS}/ca.crt`), oldCa, 'the CA is reissued');

    for (const h of hosts) {
      for (const p of written(OLD)) assert.ok(!(await exists(h, p)), `${h}: ${p} is still there`);
      for (const p of written(NEW)) assert.equal(await exists(h, p), h !== 'worker2', `${h}: ${p}`);
      assert.equal(await L.shOk(h, `cat ${OPERATOR}`), oldCa, `${h}: the operator's anchor changed`);
      // The OS bundle no longer holds the old CA (the store was rebuilt without it).
      const line = oldCa.split('\n').filter((l) => l && !l.startsWith('-----'))[3]!;
      const inBundle = await L.sh(h, `grep -qxF -- '${line}' /etc/ssl/certs/ca-certificates.crt`);
      assert.notEqual(inBundle.code, 0, `${h}: the old CA is still in the OS bundle`);
    }
    assert.ok(!(await exists('master', `/etc/docker/certs.d/${OLD}`)), 'the emptied directory goes');
    assert.equal(
      await L.shOk('worker1', `cat /etc/docker/certs.d/${OLD}/client.cert`),
      'an operator file\n',
      'a directory holding an operator file keeps it',
    );
    // The new anchor works: worker1 pulled through the new name.
    await L.shOk('worker1', `docker image inspect ${NEW}/app:0.1 >/dev/null`);

    const again = await applyJson(pb, inv);
    assert.equal(again.code, 0, explain(again));
    assert.deepEqual(again.pairs, [], explain(again));
  });
  it('tls.mode none: the insecure-registries entry and drop-in of the old address go; an operator’s entry stays', async () => {
    const dir = tempDir();
    const inv = await L.writeInventory({ hosts });
    const doc = basePlaybook();
    doc.tls = { mode: 'none' };
    doc.trust = { hosts: 'all', runtimes: ['docker', 'podman'] };
    doc.images = [];
    const first = await applyJson(writePlaybook(dir, doc), inv);
    assert.equal(first.code, 0, explain(first));
    // The operator's own insecure registry, beside regbook's.
    for (const h of hosts) {
      await L.shOk(
        h,
        `python3 -c 'import json; p="/etc/docker/daemon.json"; d=json.load(open(p)); d["insecure-registries"].insert(0, "mine.example:5000"); json.dump(d, open(p, "w"))'`,
      );
    }
    doc.registry.address = NEW;
    const pb = writePlaybook(dir, doc);
    const { check } = await checkThenApply(pb, inv, L);
    const edits = check.tasks.flatMap((t) => t.changes).filter((c) => c.what.endsWith('insecure-registries'));
    assert.equal(edits.length, hosts.length, JSON.stringify(edits));
    for (const h of hosts) {
      const json = JSON.parse(await L.shOk(h, 'cat /etc/docker/daemon.json')) as Record<string, unknown>;
      assert.deepEqual(json['insecure-registries'], ['mine.example:5000', NEW], h);
      const info = await L.shOk(h, "docker info --format '{{json .RegistryConfig.IndexConfigs}}'");
      const configs = JSON.parse(info) as Record<string, { Secure: boolean }>;
      assert.equal(configs[NEW]?.Secure, false, `${h}: docker has not loaded ${NEW}`);
      assert.equal(configs[OLD], undefined, `${h}: docker still treats ${OLD} as insecure`);
      assert.ok(!(await exists(h, '/etc/containers/registries.conf.d/regbook-master_5000.conf')), h);
      assert.ok(await exists(h, '/etc/containers/registries.conf.d/regbook-registry.lab_5000.conf'), h);
      for (const p of written(OLD)) assert.ok(!(await exists(h, p)), `${h}: ${p} is still there`);
    }
    const again = await applyJson(pb, inv);
    assert.equal(again.code, 0, explain(again));
    assert.deepEqual(again.pairs, [], explain(again));
  });
});
