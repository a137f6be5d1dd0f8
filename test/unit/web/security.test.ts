// The web view's gatekeeping on a real loopback server: the token, the Host check, the headers and
// the cross-origin refusal. The handlers are stand-ins here; test/e2e/ui.test.ts proves the view
// against the lab in a browser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:http';
import {
  CONTENT_SECURITY_POLICY,
  newToken,
  sameOrigin,
  securityHeaders,
  tokenMatches,
} from '../../../src/web/security.js';
import { startUiServer, type RemoveRequest, type UiServer } from '../../../src/web/server.js';

describe('web view tokens', () => {
  it('are 32 random bytes in base64url, different each time', () => {
    const a = newToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, newToken());
  });
  it('match only themselves', () => {
    const t = newToken();
    assert.equal(tokenMatches(t, t), true);
    assert.equal(tokenMatches(undefined, t), false);
    assert.equal(tokenMatches('', t), false);
    assert.equal(tokenMatches(t.slice(0, -1), t), false);
    assert.equal(tokenMatches(t + 'x', t), false);
    assert.equal(tokenMatches(t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'), t), false);
  });
});

describe('web view headers', () => {
  it('carry the strict CSP and keep the token out of Referer and caches', () => {
    const h = securityHeaders('text/html');
    assert.equal(
      h['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|\*|https?:/);
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['cache-control'], 'no-store');
    assert.equal(h['x-content-type-options'], 'nosniff');
  });
  it('same-origin check refuses another origin and cross-site fetches', () => {
    const own = 'http://127.0.0.1:4000';
    assert.equal(sameOrigin({ origin: own, 'sec-fetch-site': 'same-origin' }, own), true);
    assert.equal(sameOrigin({}, own), true);
    assert.equal(sameOrigin({ origin: 'http://evil.example' }, own), false);
    assert.equal(sameOrigin({ 'sec-fetch-site': 'cross-site' }, own), false);
    assert.equal(sameOrigin({ 'sec-fetch-site': 'same-site', origin: own }, own), false);
  });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function ask(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: opts.method ?? 'GET',
      headers: opts.headers,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('web view server', () => {
  const token = newToken();
  let ui: UiServer;
  let port: number;
  const removed: RemoveRequest[] = [];

  before(async () => {
    ui = await startUiServer(token, {
      state: () => Promise.resolve({ ok: true }),
      remove: (r) => {
        removed.push(r);
        return Promise.resolve([`removed ${r.repository}:${r.tag}`]);
      },
    });
    port = Number(new URL(ui.url).port);
  });
  after(() => ui.close());

  it('listens on the loopback address, with the token as the first path segment', () => {
    assert.equal(new URL(ui.url).hostname, '127.0.0.1');
    assert.equal(new URL(ui.url).pathname, `/${token}/`);
    assert.equal(ui.server.address() && (ui.server.address() as { address: string }).address, '127.0.0.1');
  });

  it('says which port it could not listen on, as bad input', async () => {
    await assert.rejects(
      startUiServer(
        newToken(),
        { state: () => Promise.resolve({}), remove: () => Promise.resolve([]) },
        port,
      ),
      (err: Error & { exitCode?: number }) =>
        err.exitCode === 1 && err.message.includes(`cannot listen on 127.0.0.1:${port}`),
    );
  });

  it('answers 403 to any path without the token, with the security headers', async () => {
    for (const path of ['/', '/app.js', '/api/state', `/x${token}/`, `/${token.slice(1)}/api/state`]) {
      const r = await ask(port, path);
      assert.equal(r.status, 403, path);
      assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    }
  });

  it('answers 403 to another Host header, even with the token', async () => {
    const r = await ask(port, `/${token}/api/state`, { headers: { host: `rebound.example:${port}` } });
    assert.equal(r.status, 403);
  });

  it('serves the page, its script and its stylesheet, and the state', async () => {
    const page = await ask(port, `/${token}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<script src="app\.js" defer><\/script>/);
    assert.match(String((await ask(port, `/${token}/app.js`)).headers['content-type']), /^text\/javascript/);
    assert.match(String((await ask(port, `/${token}/app.css`)).headers['content-type']), /^text\/css/);
    assert.deepEqual(JSON.parse((await ask(port, `/${token}/api/state`)).body), { ok: true });
    assert.equal((await ask(port, `/${token}/nothing`)).status, 404);
  });

  it('removes only on a same-origin JSON POST', async () => {
    const body = JSON.stringify({ repository: 'app', tag: '0.1' });
    const json = { 'content-type': 'application/json' };
    const cross = await ask(port, `/${token}/api/rm`, {
      method: 'POST',
      body,
      headers: { ...json, origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 403);
    const form = await ask(port, `/${token}/api/rm`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(form.status, 415);
    const get = await ask(port, `/${token}/api/rm`);
    assert.equal(get.status, 404);
    assert.deepEqual(removed, []);
    const ok = await ask(port, `/${token}/api/rm`, {
      method: 'POST',
      body,
      headers: { ...json, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { lines: ['removed app:0.1'] });
    assert.deepEqual(removed, [{ repository: 'app', tag: '0.1' }]);
  });
});
