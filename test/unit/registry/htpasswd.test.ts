import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { Secret } from '../../../src/core/secret.js';
import { createCa, createServerCert } from '../../../src/pki/index.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import {
  BCRYPT_COST,
  HtpasswdError,
  bcryptCost,
  htpasswdUpToDate,
  parseHtpasswd,
  renderHtpasswd,
} from '../../../src/registry/htpasswd.js';
import { startRegistry, type RunningRegistry } from './server.js';

const COST = 4; // the minimum: keeps the tests fast; the format is the same at any cost
const ci = { username: 'ci', password: new Secret('s3cr&t "pw" $(x)') };
const ops = { username: 'ops', password: new Secret('other-Pa55-word') };

describe('renderHtpasswd / htpasswdUpToDate', () => {
  const text = renderHtpasswd([ci, ops], COST);

  it('writes one user:bcrypt line per user, never the password', () => {
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^ci:\$2b\$04\$[./A-Za-z0-9]{53}$/);
    assert.match(lines[1]!, /^ops:\$2b\$04\$/);
    assert.ok(!text.includes(ci.password.reveal()));
    assert.ok(bcrypt.compareSync(ci.password.reveal(), parseHtpasswd(text)!.get('ci')!));
  });

  it('salts: rendering twice differs, so only a compare can tell the file is current', () => {
    assert.notEqual(renderHtpasswd([ci], COST), renderHtpasswd([ci], COST));
  });

  const table: [string, string, { username: string; password: Secret }[], boolean][] = [
    ['unchanged', text, [ci, ops], true],
    ['unchanged, other order', text, [ops, ci], true],
    ['comments and blank lines are ignored, as the registry does', `# managed\n\n${text}\n`, [ci, ops], true],
    ['a password changed', text, [ci, { username: 'ops', password: new Secret('new') }], false],
    ['a user added', text, [ci, ops, { username: 'dev', password: new Secret('d') }], false],
    ['a user removed', text, [ci], false],
    ['a user renamed', text, [ci, { username: 'ops2', password: ops.password }], false],
    ['empty file', '', [ci], false],
    ['a malformed line', `${text}garbage\n`, [ci, ops], false],
    ['a duplicated user', `${text}${renderHtpasswd([ci], COST)}`, [ci, ops], false],
    ['a non-bcrypt hash', 'ci:{SHA}abc\nops:x\n', [ci, ops], false],
    ['$2y$ written by htpasswd(1) still matches', text.replaceAll('$2b$', '$2y$'), [ci, ops], true],
  ];
  for (const [name, existing, users, want] of table) {
    it(`${name} → ${want}`, () => assert.equal(htpasswdUpToDate(existing, users, COST), want));
  }

  it('writes bcrypt cost 12 by default and counts a weaker stored hash as out of date', () => {
    const strong = renderHtpasswd([ci]);
    assert.match(strong, /^ci:\$2b\$12\$/);
    assert.equal(bcryptCost(parseHtpasswd(strong)!.get('ci')!), BCRYPT_COST);
    assert.equal(htpasswdUpToDate(strong, [ci]), true);
    const weak = renderHtpasswd([ci], 10);
    assert.equal(htpasswdUpToDate(weak, [ci]), false, 'a cost-10 hash is rehashed');
    assert.equal(htpasswdUpToDate(weak, [ci], 10), true);
  });

  it('refuses what bcrypt or the file format cannot hold', () => {
    assert.throws(() => renderHtpasswd([{ username: 'a:b', password: new Secret('x') }]), HtpasswdError);
    assert.throws(
      () => renderHtpasswd([{ username: 'a', password: new Secret('x'.repeat(73)) }]),
      HtpasswdError,
    );
    assert.throws(() => renderHtpasswd([ci, ci]), HtpasswdError);
    const err = (() => {
      try {
        renderHtpasswd([{ username: 'long', password: new Secret('p'.repeat(80)) }]);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a throw');
    })();
    assert.ok(!err.message.includes('p'.repeat(80)));
  });
});

describe('htpasswd auth on the real registry', () => {
  const ca = createCa({
    commonName: 'registry.test',
    subjectAltNames: ['DNS:registry.test', 'IP:127.0.0.1'],
    days: 30,
    keyBits: 2048,
  });
  const server = createServerCert({
    commonName: 'registry.test',
    subjectAltNames: ['DNS:registry.test'],
    days: 30,
    keyBits: 2048,
    ca,
  });
  const y = { username: 'yuser', password: new Secret('y-pass') };
  const a = { username: 'auser', password: new Secret('a-pass') };
  let registry: RunningRegistry;

  before(async () => {
    // ci and ops as rendered ($2b$), plus the same hash format re-labelled $2y$ and $2a$.
    const file =
      renderHtpasswd([ci, ops], COST) +
      renderHtpasswd([y], COST).replace('$2b$', '$2y$') +
      renderHtpasswd([a], COST).replace('$2b$', '$2a$');
    registry = await startRegistry({ ...server, htpasswd: file });
  });
  after(async () => {
    await registry?.stop();
  });

  const client = (auth?: { username: string; password: Secret }) =>
    new RegistryClient({
      connect: async () => connect(registry.port, '127.0.0.1'),
      servername: 'registry.test',
      port: 5000,
      ca: ca.certPem,
      ...(auth ? { auth } : {}),
    });

  it('no credentials → 401', async () => {
    assert.equal(await client().ping(), 401);
  });

  it('the rendered $2b$ hashes are accepted → 200', async () => {
    assert.equal(await client(ci).ping(), 200);
    assert.equal(await client(ops).ping(), 200);
    assert.deepEqual(await client(ci).catalog(), []);
  });

  it('$2y$ and $2a$ are accepted too', async () => {
    assert.equal(await client(y).ping(), 200);
    assert.equal(await client(a).ping(), 200);
  });

  it('a wrong password → 401, and the error never carries the password', async () => {
    const wrong = { username: 'ci', password: new Secret('wrong-password-value') };
    assert.equal(await client(wrong).ping(), 401);
    const err = await client(wrong)
      .catalog()
      .then(
        () => assert.fail('expected 401'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RegistryError);
    assert.equal(err.status, 401);
    assert.deepEqual(err.codes, ['UNAUTHORIZED']);
    for (const text of [
      err.message,
      String(err.stack),
      inspect(err, { depth: 10, showHidden: true }),
      JSON.stringify(err),
    ]) {
      assert.ok(!text.includes('wrong-password-value'), text);
      assert.ok(!text.includes(Buffer.from('ci:wrong-password-value').toString('base64')), text);
    }
    assert.ok(!inspect(client(wrong), { depth: 10, showHidden: true }).includes('wrong-password-value'));
  });
});
