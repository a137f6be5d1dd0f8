// The operator commands on the lab: status, catalog and gc, each checked against what the hosts
// themselves say (curl, du, docker, openssl through docker exec), never against regbook alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lab, type Lab } from '../helpers/lab.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { regbook, ROOT, tempDir } from '../helpers/cli.js';
import {
  allZeroChanged,
  applyJson,
  basePlaybook,
  explain,
  writePlaybook,
  type PlaybookDoc,
  LOCK_DIR,
  withLockHeldElsewhere,
} from './registry.js';
import type { StatusReport } from '../../src/ops/status.js';
import type { GcReport } from '../../src/ops/gc.js';
import type { CatalogEntry } from '../../src/ops/catalog.js';
import { start } from './faults/support.js';

const CERTS_D = '/etc/docker/certs.d/master:5000/ca.crt';
const SYSTEM = '/usr/local/share/ca-certificates/regbook-master_5000.crt';
const DATA = '/var/lib/regbook/registry';
const CURL = `curl -sS --fail --cacert ${CERTS_D}`;

describe('operator commands on the lab', () => {
  let L: Lab;
  let dir: string;
  let inv: string;
  let pb: string;
  let doc: PlaybookDoc;

  const status = async (playbook = pb) => {
    const r = await regbook(['status', playbook, '-i', inv, '--output', 'json']);
    let report: StatusReport;
    try {
      report = JSON.parse(r.stdout) as StatusReport;
    } catch {
      throw new Error(`status did not print JSON\n${explain(r)}`);
    }
    assert.equal(r.code, report.exitCode, 'the exit code is the one the report states');
    return { ...r, report };
  };
  const host = (rep: StatusReport, name: string) => rep.hosts.find((h) => h.name === name)!;
  const duBytes = async () => Number((await L.shOk('master', `du -sb ${DATA}`)).split(/\s+/)[0]);
  const converge = async (playbook = pb) => {
    const r = await applyJson(playbook, inv);
    assert.equal(r.code, 0, explain(r));
    return r;
  };

  before(async () => {
    L = await lab({ workers: 2 });
    await L.reset();
    dir = tempDir();
    inv = await L.writeInventory({ hosts: ['master', 'worker1', 'worker2'] });
    doc = basePlaybook();
    pb = writePlaybook(dir, doc);
    await converge();
  });
  after(async () => {
    await L?.reset();
  });

  it('status on a converged cluster: healthy, exit 0, every host trusts and reaches the registry', async () => {
    const { report, code } = await status();
    assert.equal(code, 0, JSON.stringify(report.problems.concat(report.warnings)));
    assert.deepEqual(report.problems, []);
    assert.equal(report.certificate.subject, 'CN=master');
    assert.deepEqual(report.certificate.sans, ['DNS:master', 'IP:127.0.0.1']);
    assert.ok(report.certificate.daysLeft! >= 798 && report.certificate.daysLeft! <= 800);
    assert.equal(report.container.state, 'running');
    assert.deepEqual(report.container.differences, []);
    assert.deepEqual(report.api.repositories, [{ repository: 'app', tags: ['0.1', '0.2'] }]);
    for (const h of report.hosts) {
      assert.equal(h.reachable, true);
      assert.equal(h.docker, 'running');
      assert.deepEqual(
        h.trust?.map((t) => t.state),
        ['ok', 'ok'],
        h.name,
      );
      assert.equal(h.v2?.code, '200', h.name);
    }
    // The issuer and expiry agree with openssl on the master.
    const end = await L.shOk('master', 'openssl x509 -noout -enddate -in /etc/regbook/certs/server.crt');
    assert.equal(new Date(end.trim().replace('notAfter=', '')).toISOString(), report.certificate.notAfter);
    const text = await regbook(['status', pb, '-i', inv]);
    assert.equal(text.code, 0, explain(text));
    assert.match(text.stdout, /HOST\s+ROLE\s+REACHABLE\s+DOCKER\s+CERTS\.D\s+SYSTEM STORE\s+\/v2\//);
    assert.match(text.stdout, /worker1\s+worker\s+yes\s+running\s+ok\s+ok\s+ok \(200\)/);
    assert.match(text.stdout, /^healthy$/m);
  });

  it('status opens no more SSH channels on any host than apply --check: the plans’ gather is its only one', async () => {
    // Every channel regbook's SSH client opens (commands, and TCP to the registry), by host port.
    const channels = async (args: string[]) => {
      const file = join(dir, `channels-${args[0]}.json`);
      const r = await regbook([...args, '-i', inv, '--output', 'json'], {
        env: {
          NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, 'test/helpers/channel-count.mjs')).href}`,
          REGBOOK_CHANNEL_COUNT: file,
        },
      });
      assert.equal(r.code, 0, explain(r));
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
    };
    const check = await channels(['apply', pb, '--check']);
    const st = await channels(['status', pb]);
    for (const h of L.hosts.filter((x) => ['master', 'worker1', 'worker2'].includes(x.name))) {
      const port = String(h.port);
      assert.ok((check[port] ?? 0) > 0, `${h.name}: apply --check opened no channel`);
      assert.ok(
        (st[port] ?? 0) <= check[port]!,
        `${h.name}: status opened ${st[port]} channels, apply --check ${check[port]}`,
      );
    }
  });

  it('status reports a worker whose trust file was removed, and one whose store holds another certificate', async () => {
    await L.shOk('worker1', `rm -f '${CERTS_D}'`);
    // Another certificate in worker2's system store file: present, but not the registry's anchor.
    await L.shOk('worker2', `cp /etc/ssl/certs/ca-certificates.crt '${SYSTEM}'`);
    const { report, code } = await status();
    assert.equal(code, 2, JSON.stringify(report));
    assert.deepEqual(host(report, 'worker1').trust, [
      { path: CERTS_D, kind: 'certs.d', state: 'missing' },
      { path: SYSTEM, kind: 'system', state: 'ok' },
    ]);
    assert.equal(host(report, 'worker2').trust?.find((t) => t.kind === 'system')?.state, 'differs');
    assert.equal(
      host(report, 'master').trust?.every((t) => t.state === 'ok'),
      true,
    );
    assert.ok(report.problems.some((p) => p.startsWith('worker1:') && p.includes(CERTS_D)));
    assert.ok(report.problems.some((p) => p.startsWith('worker2:') && p.includes(SYSTEM)));
    const text = await regbook(['status', pb, '-i', inv]);
    assert.equal(text.code, 2);
    assert.match(text.stdout, new RegExp(`PROBLEM  worker1: ${CERTS_D} is missing`));
    await converge();
    assert.equal((await status()).code, 0, 'healthy again after apply');
  });

  it('status warns about a certificate inside its renewal window (exit 2)', async () => {
    await L.shOk('master', 'rm -f /etc/regbook/certs/server.crt');
    const short = writePlaybook(
      dir,
      { ...doc, tls: { ...doc.tls, days: 20, renewBeforeDays: 5 } },
      'short.yaml',
    );
    await converge(short);
    // With renewBeforeDays 5, a 20-day certificate is fine…
    const fine = await status(short);
    assert.equal(fine.code, 0, JSON.stringify(fine.report.warnings));
    // …with the normal playbook's 30 days it is inside the window.
    const { report, code } = await status();
    assert.equal(code, 2);
    assert.ok(report.certificate.daysLeft! >= 19 && report.certificate.daysLeft! <= 20);
    assert.equal(report.problems.length, 0, JSON.stringify(report.problems));
    assert.equal(report.warnings.length, 1, JSON.stringify(report.warnings));
    assert.match(report.warnings[0]!, /certificate: expires in (19|20) days .*within renewBeforeDays 30/);
    const text = await regbook(['status', pb, '-i', inv]);
    assert.match(text.stdout, /WARNING {2}certificate: expires in/);
    // The next apply renews it (as the warning says), and status is healthy again.
    await converge();
    const renewed = await status();
    assert.equal(renewed.code, 0, JSON.stringify(renewed.report.warnings));
    assert.ok(renewed.report.certificate.daysLeft! > 700);
  });

  it('status is unhealthy exactly where apply --check reports changes, naming the same ones, after each drift', async () => {
    // Each change as "host/task: what", from status's report and from the check run's events.
    const fromStatus = (r: StatusReport) => r.pending.map((p) => `${p.host}/${p.task}: ${p.what}`).sort();
    const fromCheck = (tasks: Awaited<ReturnType<typeof applyJson>>['tasks']) =>
      tasks
        .filter((t) => t.status === 'changed')
        .flatMap((t) => t.changes.map((c) => `${t.host}/${t.task}: ${c.what}`))
        .sort();
    const drifts: Array<[string, string, string]> = [
      ['a worker trust file deleted', 'worker1', `rm -f '${CERTS_D}'`],
      // status once compared the trust file's certificate only, and called this host healthy.
      ['a worker trust file with mode 644', 'worker1', `chmod 644 '${CERTS_D}'`],
      ['the server key readable by all', 'master', 'chmod 644 /etc/regbook/certs/server.key'],
      ['the registry container removed (its data stays)', 'master', 'docker rm -f registry'],
      [
        'a tag lost from the registry',
        'master',
        `d=$(curl -sSfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' --cacert ${CERTS_D} https://master:5000/v2/app/manifests/0.2 | sed -n 's/^docker-content-digest: *//Ip' | tr -d '\r') && curl -sSf -X DELETE --cacert ${CERTS_D} "https://master:5000/v2/app/manifests/$d"`,
      ],
    ];
    for (const [name, where, drift] of drifts) {
      await L.shOk(where, drift);
      const { report, code } = await status();
      const check = await applyJson(pb, inv, ['--check']);
      assert.equal(check.code, 0, explain(check));
      const named = fromStatus(report);
      assert.ok(named.length > 0, `${name}: status lists no change`);
      assert.deepEqual(named, fromCheck(check.tasks), `${name}: status and apply --check disagree`);
      assert.equal(code, 2, `${name}: status exits 2 while changes are pending`);
      const unhealthy = [...new Set(report.pending.map((p) => p.host))].sort();
      const changedHosts = [...new Set(check.pairs.map((p) => p.split('/')[0]))].sort();
      assert.deepEqual(unhealthy, changedHosts, `${name}: unhealthy hosts`);
      await converge();
      const after = await status();
      assert.deepEqual(after.report.pending, [], `${name}: status after the apply`);
      assert.equal(after.code, 0, `${name}: ${JSON.stringify(after.report.problems)}`);
      const clean = await applyJson(pb, inv, ['--check']);
      assert.deepEqual(clean.pairs, [], `${name}: apply --check after the apply`);
    }
  });

  it('status exits 4 when a host is unreachable, and still reports the others', async () => {
    await L.stop('worker2');
    try {
      const { report, code } = await status();
      assert.equal(code, 4);
      assert.equal(host(report, 'worker2').reachable, false);
      assert.equal(host(report, 'worker1').reachable, true);
      assert.equal(host(report, 'worker1').v2?.code, '200');
      assert.equal(report.container.state, 'running');
    } finally {
      await L.start('worker2');
    }
  });

  it('catalog matches the registry API as curl sees it on a worker (_catalog, tags/list, digests, sizes)', async () => {
    const r = await regbook(['catalog', pb, '-i', inv, '--output', 'json']);
    assert.equal(r.code, 0, explain(r));
    const images = (JSON.parse(r.stdout) as { images: CatalogEntry[] }).images;
    const repos = (
      JSON.parse(await L.shOk('worker1', `${CURL} https://master:5000/v2/_catalog`)) as {
        repositories: string[];
      }
    ).repositories;
    assert.deepEqual([...new Set(images.map((i) => i.repository))].sort(), [...repos].sort());
    const accept = 'application/vnd.docker.distribution.manifest.v2+json';
    for (const repo of repos) {
      const tags = (
        JSON.parse(await L.shOk('worker1', `${CURL} https://master:5000/v2/${repo}/tags/list`)) as {
          tags: string[];
        }
      ).tags;
      assert.deepEqual(
        images.filter((i) => i.repository === repo).map((i) => i.tag),
        [...tags].sort(),
      );
      for (const tag of tags) {
        const url = `https://master:5000/v2/${repo}/manifests/${tag}`;
        const headers = await L.shOk('worker1', `${CURL} -I -H 'Accept: ${accept}' ${url}`);
        const digest = /docker-content-digest:\s*(\S+)/i.exec(headers)?.[1];
        const manifest = JSON.parse(await L.shOk('worker1', `${CURL} -H 'Accept: ${accept}' ${url}`)) as {
          config: { size: number };
          layers: Array<{ size: number }>;
        };
        const size = manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
        const entry = images.find((i) => i.repository === repo && i.tag === tag)!;
        assert.equal(entry.digest, digest, `${repo}:${tag} digest`);
        assert.equal(entry.size, size, `${repo}:${tag} size`);
      }
    }
    const text = await regbook(['catalog', pb, '-i', inv]);
    // Text shows sizes for people (the JSON above keeps the bytes), and counts in good English.
    assert.match(text.stdout, /^app:0\.1\s+sha256:[0-9a-f]{64}\s+\d+(\.\d)? (B|KiB|MiB)$/m);
    assert.match(text.stdout, /^1 repository, 2 tags$/m);
  });

  it('gc frees the space of a deleted image, read-only meanwhile, and leaves nothing for apply to change', async () => {
    const absent = writePlaybook(
      dir,
      {
        ...doc,
        images: [{ name: 'app:0.1', state: 'absent' }, doc.images![1]!],
      },
      'absent.yaml',
    );
    await converge(absent);
    const duBefore = await duBytes();

    const check = await regbook(['gc', absent, '-i', inv, '--check', '--output', 'json']);
    assert.equal(check.code, 0, explain(check));
    const planned = JSON.parse(check.stdout) as GcReport;
    assert.ok(planned.blobs.length > 0, 'the deleted tag left blobs to collect');
    assert.ok((planned.bytesFreed ?? 0) > 0);
    assert.equal(await duBytes(), duBefore, 'gc --check deleted nothing');

    // Watch the container from inside the master while gc runs: it must be read-only for a while,
    // then back without the setting.
    const watch = L.sh(
      'master',
      'seen=0; for i in $(seq 1 600); do e=$(docker inspect -f "{{json .Config.Env}}" registry 2>/dev/null); ' +
        'case "$e" in *MAINTENANCE_READONLY*) seen=1 ;; "") ;; *) [ $seen = 1 ] && { echo restored; break; } ;; esac; ' +
        'sleep 0.05; done; echo seen=$seen',
    );
    const gc = await regbook(['gc', absent, '-i', inv, '--output', 'json']);
    assert.equal(gc.code, 0, explain(gc));
    const seen = (await watch).stdout;
    assert.match(seen, /seen=1/, 'the registry ran with storage.maintenance.readonly during gc');
    assert.match(seen, /restored/);
    const report = JSON.parse(gc.stdout) as GcReport;
    const duAfter = await duBytes();
    assert.ok(duAfter < duBefore, `the data directory shrank: ${duBefore} → ${duAfter}`);
    assert.equal(report.bytesBefore, duBefore);
    assert.equal(report.bytesAfter, duAfter);
    assert.deepEqual(report.blobs, planned.blobs, 'gc deleted what --check listed');
    for (const b of report.blobs) {
      const hex = b.slice('sha256:'.length);
      const gone = await L.sh(
        'master',
        `test -e ${DATA}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}`,
      );
      assert.notEqual(gone.code, 0, `${b} is gone from the storage`);
    }

    // The other image still pulls on a worker; the deleted one does not.
    await L.shOk(
      'worker1',
      'docker rmi -f master:5000/app:0.2 >/dev/null; docker pull -q master:5000/app:0.2',
    );
    const deleted = await L.sh('worker1', 'docker pull -q master:5000/app:0.1');
    assert.notEqual(deleted.code, 0);

    const again = await applyJson(absent, inv);
    assert.equal(again.code, 0, explain(again));
    assert.ok(allZeroChanged(again.recap.hosts), `apply after gc changed ${again.pairs.join(' ')}`);

    // Not left read-only: the collected image can be pushed again.
    await converge();
    const tags = await L.shOk('worker2', `${CURL} https://master:5000/v2/app/tags/list`);
    assert.deepEqual((JSON.parse(tags) as { tags: string[] }).tags.sort(), ['0.1', '0.2']);
  });

  it('gc takes the deploy lock: a held lock stops it before it touches the registry', async () => {
    const before = await L.shOk('master', "docker inspect -f '{{.Id}}' registry");
    await withLockHeldElsewhere(L, 'ops@elsewhere', async () => {
      const gc = await regbook(['gc', pb, '-i', inv]);
      assert.equal(gc.code, 2, explain(gc));
      assert.match(gc.stderr, /deploy lock on master .* held by ops@elsewhere/);
      assert.match(gc.stderr, /regbook lock release/);
      assert.equal(
        await L.shOk('master', "docker inspect -f '{{.Id}}' registry"),
        before,
        'gc recreated the registry',
      );
    });
    const gc = await regbook(['gc', pb, '-i', inv]);
    assert.equal(gc.code, 0, explain(gc));
    assert.equal((await L.sh('master', `test -e ${LOCK_DIR}`)).code, 1, 'gc released the lock');
  });

  it('gc keeps untagged manifests unless --untagged asks for them', async () => {
    // A manifest no tag refers to: scratch:x pushed from app:0.1, then moved to app:0.2.
    const digestOf = async () =>
      (
        await L.shOk(
          'master',
          `${CURL} -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://master:5000/v2/scratch/manifests/x | sed -n 's/^docker-content-digest: *//Ip' | tr -d '\r'`,
        )
      ).trim();
    await L.shOk(
      'master',
      'docker tag app:0.1 master:5000/scratch:x && docker push -q master:5000/scratch:x',
    );
    const untagged = await digestOf();
    await L.shOk(
      'master',
      'docker tag app:0.2 master:5000/scratch:x && docker push -q master:5000/scratch:x',
    );
    assert.notEqual(await digestOf(), untagged);
    const byDigest = `${CURL} -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://master:5000/v2/scratch/manifests/${untagged}`;

    const plain = await regbook(['gc', pb, '-i', inv, '--output', 'json']);
    assert.equal(plain.code, 0, explain(plain));
    assert.deepEqual((JSON.parse(plain.stdout) as GcReport).manifests, []);
    assert.equal(
      (await L.sh('master', byDigest)).code,
      0,
      'gc without --untagged deleted an untagged manifest',
    );

    const opted = await regbook(['gc', pb, '-i', inv, '--untagged', '--output', 'json']);
    assert.equal(opted.code, 0, explain(opted));
    assert.deepEqual((JSON.parse(opted.stdout) as GcReport).manifests, [untagged]);
    assert.notEqual((await L.sh('master', byDigest)).code, 0, 'gc --untagged kept the untagged manifest');
    // The master holds what it pushed under the name scratch (a tag, and the digest of the first
    // push): the other tests compare its image list with a fresh lab's.
    await L.shOk(
      'master',
      "docker images --digests --format '{{.Repository}}@{{.Digest}}' | grep '^master:5000/scratch@' | " +
        'xargs -r docker rmi >/dev/null; docker rmi master:5000/scratch:x >/dev/null',
    );
  });

  for (const [sig, at, code] of [
    ['SIGINT', /sweeping/, 130],
    ['SIGTERM', /goes read-only/, 143],
  ] as const) {
    it(`${sig} during gc (at "${at.source}") leaves the registry serving, in write mode, and the lock released`, async () => {
      const run = start(['gc', pb, '-i', inv], { REGBOOK_LAB: process.env.REGBOOK_LAB });
      await run.waitFor(at);
      run.child.kill(sig);
      const r = await run.done;
      assert.equal(r.code, code, explain(r));
      assert.match(r.stderr, /back in write mode/);
      const env = await L.shOk('master', 'docker inspect -f "{{json .Config.Env}}" registry');
      assert.doesNotMatch(env, /MAINTENANCE_READONLY/, 'the registry was left read-only');
      await L.shOk('master', `${CURL} -o /dev/null https://master:5000/v2/`);
      const tag = `master:5000/after-${sig.toLowerCase()}:1`;
      const push = await L.sh(
        'master',
        `docker tag app:0.2 ${tag} && docker push ${tag}; s=$?; docker rmi ${tag}; exit $s`,
      );
      assert.equal(push.code, 0, `a push after the interrupted gc failed: ${push.stdout}${push.stderr}`);
      assert.equal((await L.sh('master', `test -e ${LOCK_DIR}`)).code, 1, 'the lock was left held');
    });
  }

  it('every operator command has help with examples; completion prints bash and zsh scripts', async () => {
    for (const c of ['status', 'gc', 'catalog', 'rm', 'completion']) {
      const r = await regbook([c, '--help']);
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, /Examples:/, c);
    }
    const bash = await regbook(['completion', 'bash']);
    assert.match(bash.stdout, /complete .*-F _regbook_yargs_completions regbook/);
    const zsh = await regbook(['completion', 'zsh']);
    assert.match(zsh.stdout, /#compdef regbook/);
    const words = await regbook(['--get-yargs-completions', 'regbook', '']);
    for (const c of ['apply', 'status', 'gc', 'catalog', 'completion'])
      assert.match(words.stdout, new RegExp(`^${c}$`, 'm'));
  });
});
