// Hostile input: generated strings in every string field of both files are either refused by
/* eslint-disable no-control-regex -- the grammars under test are about control characters */
// validation or carried literally (and, for the values that reach the hosts, delivered literally);
// a playbook writes only where it says; passwords appear in no output and no remote argv; file
// modes and owners are the documented ones (docs/tasks.md).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import fc from 'fast-check';
import { dump as stringify } from 'js-yaml';
import { loadBoth } from '../../../src/config/index.js';
import { InputError } from '../../../src/core/errors.js';
import type { Playbook, Inventory } from '../../../src/config/model.js';
import { lab, type Lab } from '../../helpers/lab.js';
import { changedPairs, parseNdjson, tempDir } from '../../helpers/cli.js';
import { basePlaybook, explain, writePlaybook, type PlaybookDoc } from '../registry.js';
import { rb, start, tempFilesEverywhere } from './support.js';

// Characters that mean something to a shell, YAML or a path, mixed with plain ones.
const TRICKY = [...';&|$`\'"<>\\(){}[]*?!#~%^ \t\n\r/.:,=@+-_', 'é', '😀', '\u0000', '\u007f', '\u202e'];
const PLAIN = [...'abcz09AZ'];
const PAYLOADS = [
  '$(id)',
  '`id`',
  "'; rm -rf / #",
  '../../etc/passwd',
  '/etc/regbook/../../root/.ssh/authorized_keys',
  '/var/lib/x;id',
  '-rf',
  '--help',
  '${HOME}',
  '%s%n',
  'a\nb',
  ' ',
  '',
  'registry:2 && curl evil',
  'DNS:master\nIP:1.2.3.4',
];
const hostile = fc.oneof(
  fc.constantFrom(...PAYLOADS),
  fc.string({ unit: fc.constantFrom(...TRICKY, ...PLAIN), maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

type Field = {
  name: string;
  set: (pb: PlaybookDoc, inv: Record<string, unknown>, v: string) => void;
  /** The value as the normalised model holds it, when accepted. */
  got: (p: Playbook, i: Inventory) => unknown;
  /** Characters an accepted value may never hold (it would reach a host): the grammar's promise. */
  never?: RegExp;
};

const SHELL = /[;&|$`'"<>\\(){}\s!#~%^*?]|[\u0000-\u001f\u007f]/;
const worker = (inv: Record<string, unknown>) => (inv.workers as Array<Record<string, unknown>>)[0]!;
const FIELDS: Field[] = [
  {
    name: 'registry.address',
    set: (pb, _, v) => (pb.registry.address = v),
    got: (p) => p.registry.address,
    never: /[;&|$`'"<>\\(){}\s!#~%^*?]|[\u0000-\u001f\u007f]/,
  },
  {
    name: 'registry.image',
    set: (pb, _, v) => (pb.registry.image = v),
    got: (p) => p.registry.image,
    never: SHELL,
  },
  {
    name: 'registry.name',
    set: (pb, _, v) => (pb.registry.name = v),
    got: (p) => p.registry.name,
    never: SHELL,
  },
  {
    name: 'registry.dataDir',
    set: (pb, _, v) => (pb.registry.dataDir = v),
    got: (p) => p.registry.dataDir,
    never: /(^|\/)\.\.?(\/|$)|[;&|$`'"<>\\(){}\s!#~%^*?]|[\u0000-\u001f\u007f]|^[^/]/,
  },
  {
    name: 'tls.dir',
    set: (pb, _, v) => (pb.tls.dir = v),
    got: (p) => p.tls.dir,
    never: /(^|\/)\.\.?(\/|$)|[;&|$`'"<>\\(){}\s!#~%^*?]|[\u0000-\u001f\u007f]|^[^/]/,
  },
  {
    name: 'tls.commonName',
    set: (pb, _, v) => (pb.tls.commonName = v),
    got: (p) => p.tls.commonName,
    never: /[\u0000-\u001f\u007f]/,
  },
  {
    name: 'tls.subjectAltNames',
    set: (pb, _, v) => (pb.tls.subjectAltNames as string[]).push(v),
    got: (p) => p.tls.subjectAltNames.at(-1),
    never: /[;&|$`'"<>\\(){}\s!#~%^?]|[\u0000-\u001f\u007f]/,
  },
  {
    name: 'registry.env value',
    set: (pb, _, v) => (pb.registry.env = { REGISTRY_FUZZ: v }),
    got: (p) => p.registry.env.REGISTRY_FUZZ,
  },
  {
    name: 'registry.env key',
    set: (pb, _, v) => (pb.registry.env = { [v]: 'x' }),
    got: (p) => Object.keys(p.registry.env)[0],
    never: /[^A-Z0-9_]/,
  },
  {
    name: 'registry.auth.users.username',
    set: (pb, _, v) => (pb.registry.auth = { users: [{ username: v, password: '${env:PW}' }] }),
    got: (p) => p.registry.auth?.users[0]?.username,
    never: SHELL,
  },
  {
    name: 'registry.auth.file',
    set: (pb, _, v) => (pb.registry.auth = { file: v, users: [{ username: 'ci', password: '${env:PW}' }] }),
    got: (p) => p.registry.auth?.file,
    never: /(^|\/)\.\.?(\/|$)|[;&|$`'"<>\\(){}\s!#~%^*?]|[\u0000-\u001f\u007f]|^[^/]/,
  },
  {
    name: 'images.name',
    set: (pb, _, v) => (pb.images![0]!.name = v),
    got: (p) => p.images[0]?.name.replace(/:latest$/, ''),
    never: SHELL,
  },
  {
    name: 'images.source.pull',
    set: (pb, _, v) => (pb.images![0]!.source = { pull: v }),
    got: (p) => (p.images[0]?.source as { pull?: string })?.pull,
    never: SHELL,
  },
  {
    name: 'inventory worker name',
    set: (_, inv, v) => (worker(inv).name = v),
    got: (_, i) => i.workers[0]?.name,
    never: SHELL,
  },
  {
    name: 'inventory worker address',
    set: (_, inv, v) => (worker(inv).address = v),
    got: (_, i) => i.workers[0]?.address,
    never: /[;&|$`'"<>\\(){}\s!#~%^*?]|[\u0000-\u001f\u007f]/,
  },
  {
    name: 'inventory worker user',
    set: (_, inv, v) => (worker(inv).user = v),
    got: (_, i) => i.workers[0]?.user,
    never: SHELL,
  },
];

function baseInventory(): Record<string, unknown> {
  return {
    defaults: { user: 'root', hostKeyChecking: 'strict' },
    master: { name: 'master', address: '127.0.0.1', port: 2220 },
    workers: [{ name: 'worker1', address: '127.0.0.1', port: 2221 }],
  };
}

/** Loads the two documents; undefined when validation refuses them. */
function validate(dir: string, pb: PlaybookDoc, inv: Record<string, unknown>) {
  const pbPath = join(dir, 'site.yaml');
  const invPath = join(dir, 'inventory.yaml');
  writeFileSync(pbPath, stringify(pb));
  writeFileSync(invPath, stringify(inv));
  try {
    return loadBoth(pbPath, invPath);
  } catch (err) {
    if (err instanceof InputError) return undefined;
    throw err;
  }
}

describe('hostile strings in every field: refused, or carried literally', () => {
  const dir = tempDir('regbook-hostile-');
  for (const field of FIELDS) {
    it(field.name, () => {
      fc.assert(
        fc.property(hostile, (v) => {
          const pb = basePlaybook();
          const inv = baseInventory();
          field.set(pb, inv, v);
          const loaded = validate(dir, pb, inv);
          if (!loaded) return;
          assert.equal(field.got(loaded.playbook, loaded.inventory), v, 'accepted but not carried literally');
          if (field.never) assert.doesNotMatch(v, field.never, `accepted ${JSON.stringify(v)}`);
        }),
        { numRuns: 150, seed: 7 },
      );
    });
  }

  it('regbook validate refuses the classic payloads in paths and names with exit 1, naming the field', async () => {
    const cases: Array<[keyof PlaybookDoc['registry'] | 'tls.dir', string]> = [
      ['dataDir', '/var/lib/regbook/../../root/.ssh'],
      ['dataDir', '/var/lib/x;id'],
      ['tls.dir', '/etc/regbook/$(id)'],
      ['image', 'registry:2;id'],
      ['name', 'registry`id`'],
    ];
    const invPath = join(dir, 'inv-cli.yaml');
    writeFileSync(invPath, stringify(baseInventory()));
    for (const [key, value] of cases) {
      const pb = basePlaybook();
      if (key === 'tls.dir') pb.tls.dir = value;
      else pb.registry[key] = value;
      const pbPath = writePlaybook(dir, pb, 'cli.yaml');
      const r = await rb(['validate', pbPath, '-i', invPath]);
      assert.equal(r.code, 1, `${key}=${value}: ${explain(r)}`);
      assert.match(r.stderr, new RegExp(key === 'tls.dir' ? 'tls\\.dir' : `registry\\.${key}`));
    }
  });
});

describe('hostile values on the lab', () => {
  let L: Lab;
  let dir: string;
  let pb: string;
  let doc: PlaybookDoc;
  const password = `pw-${Date.now().toString(36)}-'"$(id)\`x\`;|&é`;
  const user = 'ci.user@build-1';
  // A registry.env secret: as hostile as the password, and like it never to be seen.
  const httpSecret = `hs-${Date.now().toString(36)}-'"$(id)\`x\`;|&é`;
  const env = { REGBOOK_FUZZ_PW: password, REGBOOK_HTTP_SECRET: httpSecret };
  // Accepted env values, generated once (fixed seed) and delivered in one apply.
  const values = fc
    .sample(
      fc.string({ unit: fc.constantFrom(...TRICKY.filter((c) => c !== '\u0000'), ...PLAIN), maxLength: 20 }),
      {
        numRuns: 16,
        seed: 11,
      },
    )
    .concat(PAYLOADS);
  const envVars = Object.fromEntries(values.map((v, i) => [`REGISTRY_FUZZ_${i}`, v]));
  const DECLARED = { tls: '/srv/rb-tls', data: '/srv/rb-data', auth: '/srv/rb-auth/htpasswd' };
  const outputs: Array<{ mode: string; text: string }> = [];
  let psSamples = '';
  const credentialFiles: string[] = [];
  const changedFiles: Record<string, string[]> = {};

  before(async () => {
    L = await lab();
    await L.reset();
    // reset() knows the default paths only; these are this test's own.
    await L.shOk('master', 'rm -rf /srv/rb-tls /srv/rb-data /srv/rb-auth');
    dir = tempDir('regbook-hostile-lab-');
    doc = basePlaybook();
    doc.images = [{ name: 'app:0.1', source: { host: 'master' }, pullOn: 'workers' }];
    doc.registry.env = { ...envVars, REGISTRY_HTTP_SECRET: '${env:REGBOOK_HTTP_SECRET}' };
    doc.registry.dataDir = DECLARED.data;
    doc.registry.auth = {
      file: DECLARED.auth,
      users: [{ username: user, password: '${env:REGBOOK_FUZZ_PW}' }],
    };
    doc.tls.dir = DECLARED.tls;
    pb = writePlaybook(dir, doc);
    // A marker on every host, then the sampler of process lists and of files that hold a
    // credential (under /tmp and in docker's configs), then the apply.
    for (const h of L.hosts) {
      await L.shOk(h.name, 'rm -f /tmp/ps-samples /tmp/ps-hits; touch /tmp/regbook-marker; sleep 1.1');
      await L.sh(h.name, 'cat > /tmp/ps-patterns', {
        stdin: [...credentialForms(user, password), httpSecret].join('\n') + '\n',
      });
      await L.shOk(
        h.name,
        'nohup sh -c "while [ ! -e /tmp/ps-stop ]; do ps -eo args >> /tmp/ps-samples; ' +
          "grep -rlF --exclude='ps-*' -f /tmp/ps-patterns /tmp /root/.docker /home >> /tmp/ps-hits 2>/dev/null; " +
          'sleep 0.02; done" >/dev/null 2>&1 &',
      );
    }
    const r = await rb(['apply', pb, '-i', L.inventoryPath, '-vv', '--diff'], env);
    outputs.push({ mode: 'apply -vv --diff', text: r.stdout + r.stderr });
    assert.equal(r.code, 0, explain(r));
    for (const h of L.hosts) {
      await L.shOk(h.name, 'touch /tmp/ps-stop; sleep 0.1; rm -f /tmp/ps-stop');
      psSamples += await L.shOk(h.name, 'cat /tmp/ps-samples; rm -f /tmp/ps-samples');
      const hits = await L.shOk(h.name, 'cat /tmp/ps-hits; rm -f /tmp/ps-hits /tmp/ps-patterns');
      credentialFiles.push(
        ...hits
          .split('\n')
          .filter(Boolean)
          .map((f) => `${h.name}:${f}`),
      );
      const found = await L.shOk(
        h.name,
        `find / -xdev \\( -path /proc -o -path /sys -o -path /var/lib/docker -o -path /var/lib/containerd -o -path /run -o -path /tmp \\) -prune ` +
          `-o -newer /tmp/regbook-marker -type f -print | sort`,
      );
      changedFiles[h.name] = found.split('\n').filter(Boolean);
    }
  });
  after(async () => {
    await L?.shOk('master', 'rm -rf /srv/rb-tls /srv/rb-data /srv/rb-auth');
    await L?.reset();
  });

  it('every generated env value reaches the container literally, as docker inspect shows it', async () => {
    const inspected = JSON.parse(
      await L.shOk('master', 'docker inspect -f "{{json .Config.Env}}" registry'),
    ) as string[];
    for (const [k, v] of Object.entries(envVars)) {
      assert.ok(
        inspected.includes(`${k}=${v}`),
        `${k}=${JSON.stringify(v)} not in ${JSON.stringify(inspected)}`,
      );
    }
  });

  it('regbook writes only the files the playbook declares (and the OS store refresh they imply)', () => {
    const allowed = [
      new RegExp(`^${DECLARED.tls}/(ca|server)\\.(crt|key)$`),
      new RegExp(`^${DECLARED.auth}$`),
      new RegExp(`^${DECLARED.data}/`),
      /^\/etc\/docker\/certs\.d\/master:5000\/ca\.crt$/,
      /^\/usr\/local\/share\/ca-certificates\/regbook-master_5000\.crt$/,
      /^\/etc\/ssl\/certs\//, // written by update-ca-certificates
      /^\/var\/log\/(wtmp|lastlog|btmp|auth\.log|sshd\.log|docker\.log|containerd\.log)$/, // SSH logins, the daemons' logs
      /^\/var\/lib\/regbook\/lock\//, // the deploy lock (removed at the end)
      /^\/var\/lib\/regbook\/trust-files$/, // the record of the trust files regbook wrote on this host
    ];
    const stray: string[] = [];
    for (const [host, files] of Object.entries(changedFiles)) {
      for (const f of files) if (!allowed.some((re) => re.test(f))) stray.push(`${host}:${f}`);
    }
    assert.deepEqual(stray, [], 'files written outside the declared paths');
    assert.ok(
      changedFiles.master!.includes(`${DECLARED.tls}/server.key`),
      JSON.stringify(changedFiles.master),
    );
  });

  it('the password is in no remote argv (sampled ps on every host during the run)', () => {
    assert.ok(psSamples.length > 1000, 'the sampler saw nothing');
    assert.ok(psSamples.includes('regbook'), 'the sampler never saw a regbook command');
    assert.equal(psSamples.includes(password), false, 'the password was in a process list');
  });

  it('the credential is in no file under /tmp or in docker configs during the run, nor in any argv', () => {
    assert.deepEqual([...new Set(credentialFiles)], [], 'files that held the credential during the apply');
    for (const form of credentialForms(user, password)) {
      assert.equal(psSamples.includes(form), false, `a process list held ${form.slice(0, 8)}…`);
    }
  });

  it('a ${env:…} registry.env value reaches the container, and no argv, file or output', async () => {
    const inspected = JSON.parse(
      await L.shOk('master', 'docker inspect -f "{{json .Config.Env}}" registry'),
    ) as string[];
    assert.ok(
      inspected.includes(`REGISTRY_HTTP_SECRET=${httpSecret}`),
      'the secret setting is not in the container',
    );
    assert.equal(psSamples.includes(httpSecret), false, 'a process list held the registry.env secret');
    const grep = await L.sh(
      'master',
      `grep -rlF -- ${shq(httpSecret)} /tmp /srv /etc /root /var/lib/regbook 2>/dev/null | grep -v '^/tmp/ps-'`,
    );
    assert.equal(grep.stdout.trim(), '', 'the registry.env secret is in a file on the master');
    for (const o of outputs)
      assert.equal(o.text.includes(httpSecret), false, `${o.mode}: the secret was printed`);
  });

  it('an apply sweeps up the docker logins older versions left in /tmp, as --check predicts', async () => {
    const stale = '/tmp/regbook-docker.Ab12Cd';
    const b64 = Buffer.from(`${user}:${password}`).toString('base64');
    for (const h of ['master', 'worker3']) {
      await L.shOk(
        h,
        `mkdir -p ${stale} && printf '{"auths":{"master:5000":{"auth":"${b64}"}}}' > ${stale}/config.json`,
      );
    }
    const check = await rb(['apply', pb, '-i', L.inventoryPath, '--check', '--output', 'json'], env);
    assert.equal(check.code, 0, explain(check));
    const predicted = parseNdjson(check.stdout).tasks.filter(
      (t) => t.task === 'images' && t.status === 'changed',
    );
    assert.deepEqual(predicted.map((t) => t.host).sort(), ['master', 'worker3']);
    for (const t of predicted)
      assert.ok(
        t.changes.some((c) => c.what === stale),
        JSON.stringify(t),
      );
    assert.equal((await L.sh('master', `test -d ${stale}`)).code, 0, '--check removed nothing');
    const applied = await rb(['apply', pb, '-i', L.inventoryPath, '--output', 'json'], env);
    assert.equal(applied.code, 0, explain(applied));
    assert.deepEqual(changedPairs(parseNdjson(applied.stdout).tasks), ['master/images', 'worker3/images']);
    for (const h of ['master', 'worker3']) assert.notEqual((await L.sh(h, `test -e ${stale}`)).code, 0, h);
    const again = await rb(['apply', pb, '-i', L.inventoryPath, '--output', 'json'], env);
    assert.deepEqual(changedPairs(parseNdjson(again.stdout).tasks), []);
  });

  it('the password is in no output of any mode, verbosity, diff or error', async () => {
    const runs: Array<[string, string[]]> = [
      ['check -vv --diff', ['--check', '-vv', '--diff']],
      ['json -vv --diff', ['--output', 'json', '-vv', '--diff']],
      ['apply -v', ['-v']],
    ];
    for (const [mode, extra] of runs) {
      const r = await rb(['apply', pb, '-i', L.inventoryPath, ...extra], env);
      assert.equal(r.code, 0, `${mode}: ${explain(r)}`);
      outputs.push({ mode, text: r.stdout + r.stderr });
    }
    // A new password: auth changes (the diff shows it), registry restarts, images log in again.
    const env2 = { REGBOOK_FUZZ_PW: `${password}-2`, REGBOOK_HTTP_SECRET: `${httpSecret}-2` };
    const changed = await rb(['apply', pb, '-i', L.inventoryPath, '-vv', '--diff'], env2);
    outputs.push({ mode: 'password change -vv --diff', text: changed.stdout + changed.stderr });
    assert.equal(changed.code, 0, explain(changed));
    // The new registry.env secret recreates the container; the diff says so with masks only.
    assert.match(changed.stdout, /container\.env\.REGISTRY_HTTP_SECRET: \*\*\* → \*\*\*/);
    // An error: docker stopped on worker1.
    await L.shOk('worker1', 'service docker stop >/dev/null');
    try {
      const failed = await rb(['apply', pb, '-i', L.inventoryPath, '-vv', '--diff'], env2);
      assert.equal(failed.code, 2, explain(failed));
      outputs.push({ mode: 'failure -vv', text: failed.stdout + failed.stderr });
    } finally {
      await L.shOk(
        'worker1',
        'service docker start >/dev/null; for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done',
      );
    }
    // Ctrl-C mid-run.
    const run = start(['apply', pb, '-i', L.inventoryPath, '-vv'], env2);
    await run.waitFor(/TASK \[registry\]/);
    run.child.kill('SIGINT');
    const cut = await run.done;
    outputs.push({ mode: 'Ctrl-C', text: cut.stdout + cut.stderr });
    for (const { mode, text } of outputs) {
      for (const pw of [password, `${password}-2`, httpSecret, `${httpSecret}-2`]) {
        assert.equal(text.includes(pw), false, `${mode}: a secret was printed`);
      }
    }
  });

  it('the htpasswd file holds only bcrypt hashes, of the right password', async () => {
    const text = await L.shOk('master', `cat ${DECLARED.auth}`);
    const lines = text.split('\n').filter(Boolean);
    assert.equal(lines.length, 1);
    const [name, hash] = [
      lines[0]!.slice(0, lines[0]!.indexOf(':')),
      lines[0]!.slice(lines[0]!.indexOf(':') + 1),
    ];
    assert.equal(name, user);
    assert.match(hash, /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/);
    assert.ok(bcrypt.compareSync(`${password}-2`, hash), 'the hash is not of the current password');
    assert.equal(text.includes(password), false);
    // docker login would keep base64(user:password) in the docker config; regbook never logs in.
    for (const h of L.hosts) {
      for (const pw of [password, `${password}-2`]) {
        const b64 = Buffer.from(`${user}:${pw}`).toString('base64');
        const cfg = await L.sh(
          h.name,
          'cat /root/.docker/config.json /home/*/.docker/config.json 2>/dev/null',
        );
        assert.equal(cfg.stdout.includes(b64), false, `${h.name}: docker config holds the password`);
      }
    }
    const grep = await L.sh(
      'master',
      `grep -rlF -- ${shq(password)} /srv /etc/regbook /var/lib/regbook 2>/dev/null`,
    );
    assert.equal(grep.stdout.trim(), '', 'the password is in a file on the master');
  });

  it('file modes and owners on every host are the documented ones', async () => {
    const stat = (h: string, paths: string[]) =>
      L.shOk(h, `stat -c '%n %a %U:%G' ${paths.map(shq).join(' ')}`).then((s) =>
        Object.fromEntries(
          s
            .trim()
            .split('\n')
            .map((l) => {
              const p = l.split(' ');
              return [p[0], p.slice(1).join(' ')];
            }),
        ),
      );
    const m = await stat('master', [
      DECLARED.tls,
      `${DECLARED.tls}/ca.key`,
      `${DECLARED.tls}/server.key`,
      `${DECLARED.tls}/ca.crt`,
      `${DECLARED.tls}/server.crt`,
      DECLARED.data,
      '/srv/rb-auth',
      DECLARED.auth,
    ]);
    assert.deepEqual(m, {
      [DECLARED.tls]: '700 root:root',
      [`${DECLARED.tls}/ca.key`]: '600 root:root',
      [`${DECLARED.tls}/server.key`]: '600 root:root',
      [`${DECLARED.tls}/ca.crt`]: '444 root:root',
      [`${DECLARED.tls}/server.crt`]: '444 root:root',
      [DECLARED.data]: '700 root:root',
      '/srv/rb-auth': '700 root:root',
      [DECLARED.auth]: '600 root:root',
    });
    for (const h of L.hosts) {
      const w = await stat(h.name, [
        '/etc/docker/certs.d/master:5000',
        '/etc/docker/certs.d/master:5000/ca.crt',
        '/usr/local/share/ca-certificates/regbook-master_5000.crt',
      ]);
      assert.deepEqual(
        w,
        {
          '/etc/docker/certs.d/master:5000': '755 root:root',
          '/etc/docker/certs.d/master:5000/ca.crt': '444 root:root',
          '/usr/local/share/ca-certificates/regbook-master_5000.crt': '444 root:root',
        },
        h.name,
      );
    }
    assert.deepEqual(await tempFilesEverywhere(L), {});
  });
});

/** The ways a credential could be written: itself, as docker login stores it, as an X-Registry-Auth header. */
function credentialForms(user: string, password: string): string[] {
  const header = Buffer.from(JSON.stringify({ username: user, password, serveraddress: 'master:5000' }))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  return [password, Buffer.from(`${user}:${password}`).toString('base64'), header];
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
