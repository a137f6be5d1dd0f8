import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dockerClientCalls } from '../helpers/docker-client.js';
import { lab, type Lab } from '../helpers/lab.js';
import { regbook, tempDir } from '../helpers/cli.js';
import { shellQuote } from '../../src/core/cmd.js';
import {
  allZeroChanged,
  applyJson,
  basePlaybook,
  checkThenApply,
  dockerdPids,
  explain,
  writePlaybook,
  type PlaybookDoc,
} from './registry.js';

// One master and three workers; the inventory used first leaves worker3 out, so that adding it
// later is the "new worker" drift.
describe('regbook apply on the lab (mode ca)', () => {
  let L: Lab;
  let dir: string;
  let inv: string;
  let invAll: string;
  let pb: string;
  let doc: PlaybookDoc;

  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir();
    inv = await L.writeInventory({ hosts: ['master', 'worker1', 'worker2'] });
    invAll = L.inventoryPath;
    doc = basePlaybook();
    pb = writePlaybook(dir, doc);
  });
  after(async () => {
    await L?.reset();
  });

  it('check mode on a fresh lab changes nothing and predicts exactly what the apply changes', async () => {
    const { check, apply } = await checkThenApply(pb, inv, L);
    // Every concerned host changes something on a fresh lab.
    for (const pair of [
      'master/tls',
      'master/registry',
      'master/trust',
      'master/images',
      'worker1/trust',
      'worker1/images',
      'worker2/trust',
      'worker2/images',
    ]) {
      assert.ok(apply.pairs.includes(pair), `${pair} missing from ${apply.pairs.join(' ')}`);
    }
    const verifyCheck = check.tasks.find((t) => t.task === 'verify');
    assert.equal(verifyCheck?.status, 'skipped');
    assert.equal(apply.tasks.find((t) => t.task === 'verify')?.status, 'ok');
  });

  it('the registry serves the images over TLS, checked with curl, openssl and docker on the hosts', async () => {
    const catalog = await L.shOk(
      'worker1',
      'curl -sS --fail --cacert /etc/docker/certs.d/master:5000/ca.crt https://master:5000/v2/_catalog',
    );
    assert.deepEqual(JSON.parse(catalog), { repositories: ['app'] });
    const tags = JSON.parse(
      await L.shOk('worker1', 'curl -sS --fail https://master:5000/v2/app/tags/list'),
    ) as { tags: string[] };
    assert.deepEqual(
      [...tags.tags].sort(),
      ['0.1', '0.2'],
      'the system store trusts the registry too (no --cacert)',
    );
    for (const w of ['worker1', 'worker2']) {
      const ids = await L.shOk(
        w,
        'docker image inspect --format "{{.Id}}" master:5000/app:0.1 master:5000/app:0.2',
      );
      const src = await L.shOk('master', 'docker image inspect --format "{{.Id}}" app:0.1 app:0.2');
      assert.equal(ids, src, `${w} holds the master's images`);
      const insecure = await L.sh(
        w,
        'grep -rs insecure /etc/docker/ || true; docker info 2>/dev/null | grep -A3 -i "insecure registries"',
      );
      assert.doesNotMatch(insecure.stdout, /master:5000/, 'no insecure-registry setting anywhere');
    }
    const text = await L.shOk(
      'master',
      'openssl x509 -in /etc/regbook/certs/server.crt -noout -ext subjectAltName -subject',
    );
    assert.match(text, /DNS:master, IP Address:127\.0\.0\.1/);
    assert.match(text, /CN\s*=\s*master/);
    await L.shOk('master', 'openssl verify -CAfile /etc/regbook/certs/ca.crt /etc/regbook/certs/server.crt');
    const modes = await L.shOk(
      'master',
      'cd /etc/regbook/certs && stat -c "%n %a %U" ca.crt ca.key server.crt server.key',
    );
    assert.equal(modes.trim(), 'ca.crt 444 root\nca.key 600 root\nserver.crt 444 root\nserver.key 600 root');
  });

  it('a second apply changes nothing and restarts no docker daemon', async () => {
    const pids = await dockerdPids(L);
    const r = await applyJson(pb, inv);
    assert.equal(r.code, 0, explain(r));
    assert.ok(allZeroChanged(r.recap.hosts), JSON.stringify(r.recap));
    assert.deepEqual(await dockerdPids(L), pids);
  });

  it('one SSH login per host: check mode adds none for the lock, an apply one on the master', async () => {
    // worker3 is not in this inventory: it must see no login at all.
    const logins = async () => {
      const out = await Promise.all(
        L.hosts.map((h) => L.sh(h.name, "grep -c 'Accepted publickey' /var/log/sshd.log || true")),
      );
      return new Map(L.hosts.map((h, i) => [h.name, Number(out[i]!.stdout.trim())]));
    };
    const added = (before: Map<string, number>, after: Map<string, number>) =>
      Object.fromEntries([...after].map(([name, n]) => [name, n - before.get(name)!]));
    const t0 = await logins();
    const check = await applyJson(pb, inv, ['--check']);
    assert.equal(check.code, 0, explain(check));
    const t1 = await logins();
    const one = { master: 1, worker1: 1, worker2: 1, worker3: 0 };
    assert.deepEqual(added(t0, t1), one, 'check mode: one connection per host');
    const apply = await applyJson(pb, inv);
    assert.equal(apply.code, 0, explain(apply));
    assert.deepEqual(added(t1, await logins()), { ...one, master: 2 }, 'apply: and the lock on the master');
  });

  it('text output shows the recap; --check --detailed-exitcode exits 0 when nothing is pending', async () => {
    const r = await regbook(['apply', pb, '-i', inv, '--check', '--detailed-exitcode']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /RECAP/);
    assert.match(r.stdout, /master\s+ok=\d+\s+changed=0/);
    assert.ok(!r.stdout.includes('\u001b['), 'no escape sequences when NO_COLOR is set');
  });

  it('drift: a worker trust file deleted', async () => {
    await L.shOk('worker1', 'rm /etc/docker/certs.d/master:5000/ca.crt');
    const { apply } = await checkThenApply(pb, inv, L);
    assert.deepEqual(apply.pairs, ['worker1/trust']);
  });

  it('drift: the registry container removed (its data stays, so images are still there), made again through the engine API', async () => {
    await L.shOk('master', 'docker rm -f registry');
    const check = await applyJson(pb, inv, ['--check']);
    assert.deepEqual(check.pairs, ['master/registry'], explain(check));
    let apply: Awaited<ReturnType<typeof applyJson>> | undefined;
    const calls = await dockerClientCalls(L, 'master', async () => {
      apply = await applyJson(pb, inv);
    });
    assert.deepEqual(apply?.pairs, ['master/registry']);
    // No `docker run`: the container is made and started by requests on the API's streams.
    assert.deepEqual(
      calls.filter((c) => c !== 'system dial-stdio'),
      [],
      'the master ran docker commands besides the API streams',
    );
    const running = await L.shOk('master', "docker inspect -f '{{.State.Running}}' registry");
    assert.equal(running.trim(), 'true');
  });

  it('drift: a SAN added to the playbook reissues the CA for it, renews the certificate, recreates the container, and every host trusts the new CA', async () => {
    doc.tls.subjectAltNames = ['DNS:master', 'DNS:registry.lab', 'IP:127.0.0.1'];
    pb = writePlaybook(dir, doc);
    const pending = await regbook(['apply', pb, '-i', inv, '--check', '--detailed-exitcode', '--diff']);
    assert.equal(pending.code, 3, explain(pending));
    assert.match(pending.stdout, /registry\.lab/);
    const { apply } = await checkThenApply(pb, inv, L);
    // The CA's name constraints must cover the new name: a new CA, which every host then trusts.
    assert.deepEqual(apply.pairs, [
      'master/registry',
      'master/tls',
      'master/trust',
      'worker1/trust',
      'worker2/trust',
    ]);
    assert.match(
      await L.shOk('master', 'openssl x509 -in /etc/regbook/certs/server.crt -noout -ext subjectAltName'),
      /DNS:registry\.lab/,
    );
    assert.match(
      await L.shOk(
        'worker1',
        'openssl x509 -in /etc/docker/certs.d/master:5000/ca.crt -noout -ext nameConstraints',
      ),
      /DNS:registry\.lab/,
    );
  });

  it('drift: a certificate inside renewBeforeDays is renewed', async () => {
    // A certificate made for 20 days (validity is not a reason to renew, so remove it first).
    await L.shOk('master', 'rm /etc/regbook/certs/server.crt');
    const shortDoc = { ...doc, tls: { ...doc.tls, days: 20, renewBeforeDays: 5 } };
    const r = await applyJson(writePlaybook(dir, shortDoc, 'short.yaml'), inv);
    assert.equal(r.code, 0, explain(r));
    const end = await L.shOk('master', 'openssl x509 -in /etc/regbook/certs/server.crt -noout -enddate');
    const daysLeft = (Date.parse(end.trim().replace('notAfter=', '')) - Date.now()) / 86_400_000;
    assert.ok(daysLeft > 19 && daysLeft < 21, `the short certificate has ${daysLeft} days left`);
    const { apply } = await checkThenApply(pb, inv, L);
    assert.deepEqual(apply.pairs, ['master/registry', 'master/tls']);
    const why = apply.tasks
      .find((t) => t.task === 'tls')!
      .changes.map((c) => c.why ?? '')
      .join(' ');
    assert.match(why, /expire/i);
  });

  it('drift: a new image', async () => {
    doc.images!.push({ name: 'tool:1.0', source: { host: 'master' }, pullOn: ['worker2'] });
    pb = writePlaybook(dir, doc);
    const { apply } = await checkThenApply(pb, inv, L);
    assert.deepEqual(apply.pairs, ['master/images', 'worker2/images']);
    await L.shOk('worker2', 'docker image inspect master:5000/tool:1.0 >/dev/null');
  });

  it('drift: a tag lost from the registry is pushed again, through one engine API stream and no docker command', async () => {
    const manifest = 'https://master:5000/v2/tool/manifests';
    const accept = "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json'";
    const held = async () =>
      (
        await L.shOk(
          'master',
          `curl -sSfI ${accept} ${manifest}/1.0 | sed -n 's/^docker-content-digest: *//Ip' | tr -d '\\r'`,
        )
      ).trim();
    const digest = await held();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    await L.shOk('master', `curl -sSf -X DELETE ${manifest}/${digest}`);
    let r: Awaited<ReturnType<typeof applyJson>> | undefined;
    const calls = await dockerClientCalls(L, 'master', async () => {
      r = await applyJson(pb, inv);
    });
    assert.equal(r?.code, 0, r && explain(r));
    assert.deepEqual(r?.pairs, ['master/images']);
    // No `docker tag` nor `docker push`: the pushes go through the engine API over the master's
    // docker socket. The docker client starts at most as dial-stdio for the registry read-ahead's
    // requests, when they come before the facts name the socket (those streams then end).
    assert.deepEqual(
      calls.filter((c) => c !== 'system dial-stdio'),
      [],
      'the master ran docker commands besides the API streams',
    );
    assert.ok(calls.length <= 2, calls.join(', '));
    assert.equal(await held(), digest, 'the registry holds the same manifest again');
  });

  it('drift: an image set absent is deleted from the registry', async () => {
    doc.images = doc.images!.map((i) => (i.name === 'app:0.2' ? { name: 'app:0.2', state: 'absent' } : i));
    pb = writePlaybook(dir, doc);
    const { apply } = await checkThenApply(pb, inv, L);
    assert.deepEqual(apply.pairs, ['master/images']);
    const tags = JSON.parse(await L.shOk('worker1', 'curl -sS https://master:5000/v2/app/tags/list')) as {
      tags: string[];
    };
    assert.deepEqual(tags.tags, ['0.1']);
  });

  it('drift: a new worker added to the inventory', async () => {
    const { apply } = await checkThenApply(pb, invAll, L);
    assert.deepEqual(apply.pairs, ['worker3/images', 'worker3/trust']);
    const again = await applyJson(pb, invAll);
    assert.ok(allZeroChanged(again.recap.hosts), JSON.stringify(again.recap));
  });

  it('registry.bind publishes the port on one address only; no auth with delete on is warned', async () => {
    const reach = (host: string, via = '') =>
      L.sh(host, `curl -s -o /dev/null -w '%{http_code}' ${via} https://master:5000/v2/`).then(
        (r) => r.stdout,
      );
    const local = await applyJson(
      writePlaybook(dir, { ...doc, registry: { ...doc.registry, bind: '127.0.0.1' } }, 'bound.yaml'),
      invAll,
    );
    assert.equal(local.code, 0, explain(local));
    assert.deepEqual(local.pairs, ['master/registry']);
    assert.match(
      local.stderr,
      /warning: .*registry\.deleteEnabled: the registry has no auth and deleteEnabled: true/,
    );
    assert.equal(await reach('worker1'), '000', 'a worker reached a registry bound to the master’s loopback');
    assert.equal(await reach('master', '--resolve master:5000:127.0.0.1'), '200');
    const back = await applyJson(pb, invAll);
    assert.deepEqual(back.pairs, ['master/registry']);
    assert.equal(await reach('worker1'), '200');
  });
});

describe('regbook apply on the lab (mode selfsigned, with auth)', () => {
  let L: Lab;
  let dir: string;
  const password = `s3cr&t'"$(id)\`x\``;
  const env = { REGBOOK_CI_PASSWORD: password };

  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir();
  });
  after(async () => {
    await L?.reset();
  });

  it('converges, requires credentials, lets workers pull, and never shows the password', async () => {
    const doc = basePlaybook();
    doc.tls = { mode: 'selfsigned', commonName: 'master', subjectAltNames: ['DNS:master', 'IP:127.0.0.1'] };
    doc.registry.auth = { users: [{ username: 'ci', password: '${env:REGBOOK_CI_PASSWORD}' }] };
    const pb = writePlaybook(dir, doc);
    const inv = L.inventoryPath;
    const outputs: string[] = [];
    const { check, apply } = await checkThenApply(pb, inv, L, env);
    outputs.push(check.stdout, check.stderr, apply.stdout, apply.stderr);
    for (const args of [
      ['--check', '--diff', '-vv'],
      ['--diff', '-vv'],
      ['--output', 'json', '--diff'],
    ]) {
      const r = await regbook(['apply', pb, '-i', inv, ...args], { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      outputs.push(r.stdout, r.stderr);
    }
    const escaped = JSON.stringify(password).slice(1, -1);
    for (const o of outputs) {
      assert.ok(!o.includes(password) && !o.includes(escaped), 'the password appeared in an output');
    }

    const anon = await L.sh(
      'worker1',
      'curl -s -o /dev/null -w "%{http_code}" https://master:5000/v2/_catalog',
    );
    assert.equal(anon.stdout, '401');
    const basic = Buffer.from(`ci:${password}`).toString('base64');
    const authed = await L.sh('worker1', 'curl -sS --fail -H @- https://master:5000/v2/_catalog', {
      stdin: `Authorization: Basic ${basic}\n`,
    });
    assert.equal(authed.code, 0, authed.stderr);
    assert.deepEqual(JSON.parse(authed.stdout), { repositories: ['app'] });
    for (const w of ['worker1', 'worker2', 'worker3']) {
      await L.shOk(w, 'docker image inspect master:5000/app:0.1 master:5000/app:0.2 >/dev/null');
    }
    const htpasswd = await L.shOk('master', 'cat /etc/regbook/auth/htpasswd');
    assert.match(htpasswd.trim(), /^ci:\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/);
    // selfsigned: the server certificate itself is what every host trusts.
    const same = await L.shOk(
      'worker1',
      'cmp /etc/docker/certs.d/master:5000/ca.crt /usr/local/share/ca-certificates/regbook-master_5000.crt && echo same',
    );
    assert.equal(same.trim(), 'same');
    const served = await L.shOk(
      'master',
      'cmp /etc/regbook/certs/server.crt /etc/docker/certs.d/master:5000/ca.crt && echo same',
    );
    assert.equal(served.trim(), 'same');
  });

  it('a registry container made by `docker run`, as earlier versions made it, compares equal and is kept', async () => {
    const doc = basePlaybook();
    doc.tls = { mode: 'selfsigned', commonName: 'master', subjectAltNames: ['DNS:master', 'IP:127.0.0.1'] };
    doc.registry.auth = { users: [{ username: 'ci', password: '${env:REGBOOK_CI_PASSWORD}' }] };
    doc.registry.env = { REGISTRY_LOG_LEVEL: 'info', REGISTRY_HTTP_SECRET: '${env:REGBOOK_CI_HTTP_SECRET}' };
    const pb = writePlaybook(dir, doc, 'docker-run.yaml');
    const envs = { ...env, REGBOOK_CI_HTTP_SECRET: `h'$(id) ${'x'.repeat(32)}` };
    const first = await applyJson(pb, L.inventoryPath, [], envs);
    assert.equal(first.code, 0, explain(first));
    type Made = {
      Id: string;
      Config: { Image: string; Env: string[]; Labels: Record<string, string> };
      HostConfig: { Binds: string[]; RestartPolicy: { Name: string } };
    };
    const inspect = async () => (JSON.parse(await L.shOk('master', 'docker inspect registry')) as Made[])[0]!;
    const made = await inspect();
    // The command earlier versions ran: plain settings in -e, secret ones in an env-file on stdin,
    // regbook's labels, the binds, `-p PORT:5000` on every interface.
    const secret = new Set((made.Config.Labels['regbook.secret-env'] ?? '').split(',').filter(Boolean));
    const settings = made.Config.Env.filter((e) => e.startsWith('REGISTRY_'));
    assert.ok(secret.has('REGISTRY_HTTP_SECRET'), 'the secret setting is not labelled as one');
    const argv = ['docker', 'run', '-d', '--name', 'registry', '-p', '5000:5000'];
    argv.push('--restart', made.HostConfig.RestartPolicy.Name);
    for (const b of made.HostConfig.Binds) argv.push('-v', b);
    for (const e of settings) if (!secret.has(e.slice(0, e.indexOf('=')))) argv.push('-e', e);
    for (const [k, v] of Object.entries(made.Config.Labels))
      if (k.startsWith('regbook.')) argv.push('--label', `${k}=${v}`);
    argv.push('--env-file', '/dev/stdin', made.Config.Image);
    const stdin = settings.filter((e) => secret.has(e.slice(0, e.indexOf('=')))).join('\n') + '\n';
    const ran = await L.sh(
      'master',
      `docker rm -f registry >/dev/null && ${argv.map(shellQuote).join(' ')}`,
      {
        stdin,
      },
    );
    assert.equal(ran.code, 0, ran.stderr);
    const byDockerRun = await inspect();
    assert.notEqual(byDockerRun.Id, made.Id);
    const { check, apply } = await checkThenApply(pb, L.inventoryPath, L, envs);
    assert.deepEqual(check.pairs, [], 'check mode plans a change to a container docker run made');
    assert.deepEqual(apply.pairs, []);
    assert.equal((await inspect()).Id, byDockerRun.Id, 'the container was made again');
  });
});
