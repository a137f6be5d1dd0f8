// The lab itself: every host answers the OpenSSH client with the lab's key and known_hosts, runs its
// own Docker engine (restartable through the init script), and nested containers serve the network:
// registry:2 on the master answers GET /v2/ over TLS from a worker, honouring REGISTRY_* settings.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { lab, type Lab, type LabHost } from '../helpers/lab.js';

let L: Lab | undefined;
let unavailable: string | undefined;
try {
  L = await lab();
} catch (e) {
  // In CI a lab that cannot come up is a failure; on a workstation without root or docker, a skip.
  if (process.env.CI === 'true') throw e;
  unavailable = `lab unavailable: ${(e as Error).message.split('\n')[0]}`;
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/** The OpenSSH client, exactly as a user would run it against the lab. */
function ssh(h: LabHost, command: string, knownHosts = L!.knownHostsPath): Promise<Exec> {
  const args = [
    '-i', L!.keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
    '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
    '-p', String(h.port), `${h.user}@${h.address}`, command,
  ]; // prettier-ignore
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A privileged command as the host's login user runs it: through `sudo -n` where the host says so. */
const priv = (h: LabHost, cmd: string) => (h.become === 'sudo' ? `sudo -n ${cmd}` : cmd);

async function eventually(what: string, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('the lab', { skip: unavailable ?? false }, () => {
  let lab: Lab;
  before(() => {
    lab = L!;
  });

  test('files: a private client key, known_hosts with every host, an inventory', () => {
    assert.equal(statSync(lab.keyPath).mode & 0o777, 0o600);
    assert.ok(lab.workers.length >= 3, 'at least three workers');
    // The master's SSH port is the lab's first: 2220, or REGBOOK_LAB_PORT for another lab instance.
    assert.equal(lab.master.port, Number(process.env.REGBOOK_LAB_PORT ?? 2220));
    const deploy = lab.hosts.filter((h) => h.user !== 'root');
    assert.deepEqual(
      deploy.map((h) => [h.name, h.user, h.become]),
      [['worker2', 'deploy', 'sudo']],
    );
  });

  test('host keys are made per host at first boot, not baked into the image', async () => {
    const keys = await Promise.all(
      lab.hosts.map((h) => lab.shOk(h.name, 'cat /etc/ssh/ssh_host_ed25519_key.pub')),
    );
    assert.equal(new Set(keys.map((k) => k.split(' ')[1])).size, lab.hosts.length);
  });

  for (const h of L?.hosts ?? []) {
    const name = h.name;
    test(`${name}: ssh with the lab key, docker info, service docker restart`, async () => {
      const who = await ssh(h, 'id -un');
      assert.equal(who.code, 0, who.stderr);
      assert.equal(who.stdout.trim(), h.user);

      const info = await ssh(h, priv(h, "docker info --format '{{.ServerVersion}} {{.Driver}}'"));
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, /^\d+\.\d+\.\d+\S* overlay2$/m);

      const pidBefore = (await lab.shOk(h.name, 'pidof dockerd')).trim();
      const containerdBefore = (await lab.shOk(h.name, 'pidof containerd')).trim();
      const restart = await ssh(h, priv(h, 'service docker restart'));
      assert.equal(restart.code, 0, restart.stderr + restart.stdout);
      await eventually(`docker on ${name} answering again`, async () => {
        return (await ssh(h, priv(h, 'docker info >/dev/null'))).code === 0;
      });
      const pidAfter = (await lab.shOk(h.name, 'pidof dockerd')).trim();
      assert.notEqual(pidAfter, pidBefore, 'dockerd was really restarted');
      // As under Debian's systemd units: containerd is its own daemon and outlives a docker restart.
      const containerdAfter = (await lab.shOk(h.name, 'pidof containerd')).trim();
      assert.equal(containerdAfter, containerdBefore, 'containerd was restarted with docker');
    });
  }

  describe('registry:2 on the master', () => {
    const certs = '/tmp/lab-test-certs';
    after(async () => {
      await lab.sh('master', `docker rm -f lab-test-registry >/dev/null 2>&1; rm -rf ${certs}`);
      await lab.sh('worker1', `rm -rf ${certs}`);
    });

    test('answers GET /v2/ over TLS from a worker, with REGISTRY_* settings honoured', async () => {
      // A self-signed certificate for the name workers use, made with openssl on the master.
      await lab.shOk(
        'master',
        `mkdir -p ${certs} && cd ${certs} && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=master ` +
          `-addext subjectAltName=DNS:master -keyout server.key -out server.crt 2>/dev/null`,
      );
      const hash = bcrypt.hashSync('lab-secret', 10);
      await lab.sh('master', `cat > ${certs}/htpasswd`, { stdin: `ci:${hash}\n` });
      await lab.shOk(
        'master',
        `docker run -d --name lab-test-registry -p 5000:5000 -v ${certs}:/certs:ro ` +
          '-e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/server.crt -e REGISTRY_HTTP_TLS_KEY=/certs/server.key ' +
          '-e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_PATH=/certs/htpasswd ' +
          '-e REGISTRY_AUTH_HTPASSWD_REALM=lab -e REGISTRY_STORAGE_DELETE_ENABLED=true registry:2',
      );
      const crt = await lab.shOk('master', `cat ${certs}/server.crt`);
      await lab.sh('worker1', `mkdir -p ${certs} && cat > ${certs}/ca.crt`, { stdin: crt });

      const curl = (auth: string) =>
        lab.sh(
          'worker1',
          `curl -sS -o /dev/null -w '%{http_code}' --cacert ${certs}/ca.crt ${auth} https://master:5000/v2/`,
        );
      await eventually('the registry answering', async () => /^\d{3}$/.test((await curl('')).stdout));
      assert.equal((await curl('')).stdout, '401', 'htpasswd auth from REGISTRY_AUTH is on');
      assert.equal((await curl('-u ci:lab-secret')).stdout, '200');
      assert.equal((await curl('-u ci:wrong')).stdout, '401');
    });
  });

  test('app:0.1 and app:0.2 on the master are different images; tool:1.0 is there', async () => {
    const ids = (
      await lab.shOk('master', "docker image inspect -f '{{.Id}}' app:0.1 app:0.2 tool:1.0")
    ).split('\n');
    assert.equal(new Set(ids.filter(Boolean)).size, 3);
  });

  test('stop/start keeps host keys; rekey breaks strict checking; reset restores the keys', async () => {
    const h = lab.workers[lab.workers.length - 1]!;
    await lab.stop(h.name);
    assert.notEqual((await ssh(h, 'true')).code, 0, 'a stopped host does not answer');
    await lab.start(h.name);
    const again = await ssh(h, 'true');
    assert.equal(again.code, 0, again.stderr);

    await lab.rekey(h.name);
    const refused = await ssh(h, 'true');
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /host key/i);

    await lab.reset();
    const back = await ssh(h, 'true');
    assert.equal(back.code, 0, back.stderr);
  });
});
