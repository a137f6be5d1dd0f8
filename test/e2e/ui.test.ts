// `regbook ui` on the lab, driven in Debian's chromium through puppeteer-core: the page lists what
// the real registry and hosts hold, flags a host that lost its image, and deletes a tag through the
// page (checked with curl on a worker, not through regbook). A screenshot is written on each run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { lab, type Lab } from '../helpers/lab.js';
import { regbook, ROOT, tempDir } from '../helpers/cli.js';
import {
  applyJson,
  basePlaybook,
  explain,
  LOCK_DIR,
  withLockHeldElsewhere,
  writePlaybook,
} from './registry.js';
import { CONTENT_SECURITY_POLICY } from '../../src/web/security.js';
import type { UiState } from '../../src/web/state.js';

// The page's globals as the functions passed to page.evaluate see them in the browser (the project
// compiles without the DOM library).
interface PageElement {
  id: string;
  className: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  activeElement: PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  documentElement: { scrollWidth: number; clientWidth: number };
};

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CURL = 'curl -sS --fail --cacert /etc/docker/certs.d/master:5000/ca.crt';

/** A port free on the loopback address now (the kernel's pick, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts `regbook ui` and resolves with the URL it prints first, and the child. */
function startUi(
  pb: string,
  inv: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const built = join(ROOT, 'dist/cli/main.js');
  const args = ['ui', pb, '-i', inv, ...extra];
  const argv = existsSync(built)
    ? [built, ...args]
    : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args];
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ url: out.slice(0, nl), child, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`regbook ui exited ${code} before printing a URL\n${err}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

describe('regbook ui in a browser', () => {
  let L: Lab;
  let dir: string;
  let shots: string;
  let inv: string;
  let pb: string;
  let ui: Awaited<ReturnType<typeof startUi>>;
  let port: number;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const cspViolations: string[] = [];

  /** The registry's tags of app, as a worker reads them with curl. */
  const tags = async () => {
    const r = await L.shOk('worker1', `${CURL} https://master:5000/v2/app/tags/list`);
    return ((JSON.parse(r) as { tags: string[] | null }).tags ?? []).sort();
  };
  const row = (id: string) => page.$(`[id="${id}"]`);
  const rowClass = (id: string) => page.$eval(`[id="${id}"]`, (e) => e.className);
  /** Waits until no read or delete is in flight, so a click does not land on a row being redrawn. */
  const settled = () => page.waitForSelector('body:not([aria-busy])');
  /** Clicks a row's button once the rows are settled. */
  const clickRow = async (selector: string) => {
    await settled();
    await page.click(selector);
  };
  /** Clicks Refresh and waits for the read it starts to end. */
  const refresh = async () => {
    const before = await page.$eval('#read-at', (e) => e.getAttribute('data-read-at'));
    await page.click('#refresh');
    await page.waitForFunction(
      (b) =>
        document.querySelector('#read-at')?.getAttribute('data-read-at') !== b &&
        !document.querySelector('#refresh:disabled'),
      {},
      before,
    );
  };

  before(async () => {
    L = await lab({ workers: 2 });
    await L.reset();
    dir = tempDir();
    shots = tempDir('regbook-ui-shots-');
    inv = await L.writeInventory({ hosts: ['master', 'worker1', 'worker2'] });
    pb = writePlaybook(dir, basePlaybook());
    const r = await applyJson(pb, inv);
    assert.equal(r.code, 0, explain(r));
    port = await freePort();
    ui = await startUi(pb, inv, ['--port', String(port)]);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // The tests run as root, where chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    page.on('request', (req) => requested.push(req.url()));
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });
  after(async () => {
    await browser?.close();
    if (ui && ui.child.exitCode === null) ui.child.kill('SIGKILL');
    await L?.reset();
  });

  it('refuses any request without the token, and sends the strict CSP with the page', async () => {
    const u = new URL(ui.url);
    assert.match(u.hostname, /^127\.0\.0\.1$/);
    assert.equal(u.port, String(port), '--port is not the port of the URL printed');
    const token = u.pathname.split('/')[1]!;
    assert.ok(token.length >= 43, `token ${token} is shorter than 32 bytes in base64url`);
    for (const path of [
      '/',
      '/api/state',
      `/${token.slice(0, -1)}x/api/state`,
      `/api/state?token=${token}x`,
    ]) {
      const r = await fetch(`${u.origin}${path}`);
      assert.equal(r.status, 403, path);
    }
    const r = await fetch(ui.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    const html = await r.text();
    assert.doesNotMatch(
      html,
      /<script>|<style|\sstyle=|\son\w+=|https?:\/\//,
      'the page has inline code or an external URL',
    );
  });

  it('lists the lab registry’s repositories and tags, the hosts and the certificate', async () => {
    await page.goto(ui.url, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#repositories table');
    for (const tag of ['0.1', '0.2']) {
      const cells = await page.$$eval(`[id="tag-app:${tag}"] td`, (tds) => tds.map((t) => t.textContent));
      assert.equal(cells[0], 'app');
      assert.equal(cells[1], tag);
      assert.match(cells[2]!, /^[0-9a-f]{12}$/);
      assert.match(cells[3]!, /^\d+\.\d (KiB|MiB)$/);
      assert.ok(cells[4], 'no creation date');
    }
    for (const h of ['master', 'worker1', 'worker2']) {
      const cells = await page.$$eval(`[id="host-${h}"] td`, (tds) => tds.map((t) => t.textContent));
      assert.equal(cells[0], h);
      assert.equal(cells[2], 'yes');
      assert.equal(cells[3], 'running');
      // status's own cells: certs.d, then the system store.
      assert.equal(cells[4], 'ok');
      assert.equal(cells[5], 'ok');
    }
    const cert = await page.$eval('#certificate', (e) => e.textContent ?? '');
    assert.match(cert, /DNS:master, IP:127\.0\.0\.1/);
    assert.match(cert, /Days left(79\d|800)/);
    for (const h of ['worker1', 'worker2'])
      assert.equal(await rowClass(`hold-app:0.1@${h}`), '', `${h} is flagged before any drift`);
    // The worker's image id and the registry's, side by side and equal: the worker holds what is served.
    const ids = await page.$$eval('[id="hold-app:0.1@worker1"] code', (c) =>
      c.map((x) => x.getAttribute('title')),
    );
    assert.equal(ids.length, 2, 'the host id and the registry id');
    assert.match(ids[0]!, /^sha256:[0-9a-f]{64}$/);
    assert.equal(ids[0], ids[1], 'worker1 holds another image than the registry serves');
    const workerId = (await L.shOk('worker1', 'docker image inspect -f {{.Id}} master:5000/app:0.1')).trim();
    assert.equal(ids[0], workerId, 'the page shows another id than docker on worker1');
    assert.equal(await page.$eval('#summary', (e) => e.textContent), 'healthy');
    await page.screenshot({ path: join(shots, 'ui.png'), fullPage: true });
    const foreign = requested.filter((u) => !u.startsWith(new URL(ui.url).origin + '/'));
    assert.deepEqual(foreign, [], 'the page asked for something from another origin');
    assert.deepEqual(cspViolations, []);
  });

  it('one page read opens no more SSH channels on any host than apply --check: it is status’s one gather', async () => {
    // Every channel regbook's SSH client opens (commands, and TCP to the registry), by host port,
    // written when the process exits.
    const counting = (file: string) => ({
      NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, 'test/helpers/channel-count.mjs')).href}`,
      REGBOOK_CHANNEL_COUNT: file,
    });
    const checkFile = join(dir, 'channels-check.json');
    const check = await regbook(['apply', pb, '-i', inv, '--check', '--output', 'json'], {
      env: counting(checkFile),
    });
    assert.equal(check.code, 0, explain(check));
    const readFile = join(dir, 'channels-ui.json');
    const counted = await startUi(pb, inv, [], counting(readFile));
    let state: UiState;
    try {
      // Connected before the URL is printed; then exactly one read.
      const r = await fetch(`${counted.url}api/state`);
      assert.equal(r.status, 200);
      state = (await r.json()) as UiState;
    } finally {
      counted.child.kill('SIGTERM');
      assert.equal(await exited(counted.child), 143, counted.stderr());
    }
    // The read saw what it counts: every host read, the registry's tags with their details.
    assert.deepEqual(state.problems, []);
    assert.deepEqual(
      state.hosts.map((h) => h.cells.map((c) => c.text).slice(2)),
      [0, 1, 2].map(() => ['yes', 'running', 'ok', 'ok', 'ok (200)']),
    );
    assert.match(state.repositories.find((x) => x.repository === 'app')?.tags[0]?.digest ?? '', /^sha256:/);
    const inCheck = JSON.parse(readFileSync(checkFile, 'utf8')) as Record<string, number>;
    const inRead = JSON.parse(readFileSync(readFile, 'utf8')) as Record<string, number>;
    for (const h of L.hosts.filter((x) => ['master', 'worker1', 'worker2'].includes(x.name))) {
      const port = String(h.port);
      assert.ok((inCheck[port] ?? 0) > 0, `${h.name}: apply --check opened no channel`);
      assert.ok((inRead[port] ?? 0) > 0, `${h.name}: the page read opened no channel`);
      assert.ok(
        inRead[port]! <= inCheck[port]!,
        `${h.name}: the page read opened ${inRead[port]} channels, apply --check ${inCheck[port]}`,
      );
    }
  });

  it('flags a worker that no longer holds a pulled image, after Refresh, on the same SSH connection', async () => {
    // The SSH sessions worker1's sshd serves, by the client's address and port.
    const sessions = async () =>
      (
        await L.shOk('worker1', "ss -Htn state established '( sport = :22 )' | awk '{print $4}' | sort")
      ).trim();
    const before = await sessions();
    assert.notEqual(before, '', 'regbook ui holds no SSH connection to worker1');
    await L.shOk('worker1', 'docker rmi master:5000/app:0.1');
    await refresh();
    assert.equal(await sessions(), before, 'Refresh opened a new SSH connection');
    // Each read's tunnels to the registry (SSH channels on the master's connection) are closed or
    // reused, not left to pile up until the master's sshd refuses new sessions.
    const tunnels = async () =>
      Number((await L.shOk('master', "ss -Htn state established '( dst 127.0.0.1:5000 )' | wc -l")).trim());
    await refresh();
    const afterOne = await tunnels();
    await refresh();
    await refresh();
    assert.ok((await tunnels()) <= afterOne, 'every Refresh left more tunnels to the registry open');
    assert.equal(await rowClass('hold-app:0.1@worker1'), 'drift');
    const state = await page.$eval('[id="hold-app:0.1@worker1"] td:last-child', (e) => e.textContent);
    assert.match(state!, /missing/);
    assert.equal(await rowClass('hold-app:0.1@worker2'), '', 'worker2 still holds it');
    // As regbook status judges it: the pull the next apply would make is pending, so not healthy.
    const summary = await page.$eval('#summary', (e) => e.textContent ?? '');
    assert.match(summary, /change pending: worker1: images: /);
    assert.doesNotMatch(summary, /healthy/);
    await page.screenshot({ path: join(shots, 'ui-drift.png'), fullPage: true });
  });

  it('refuses a cross-origin delete and one without the token', async () => {
    const body = JSON.stringify({ repository: 'app', tag: '0.1' });
    const headers = { 'content-type': 'application/json' };
    const cross = await fetch(`${ui.url}api/rm`, {
      method: 'POST',
      body,
      headers: { ...headers, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(cross.status, 403);
    const noToken = await fetch(`${new URL(ui.url).origin}/api/rm`, { method: 'POST', body, headers });
    assert.equal(noToken.status, 403);
    assert.deepEqual(await tags(), ['0.1', '0.2']);
  });

  it('a delete while another run holds the deploy lock removes nothing and logs the holder', async () => {
    await withLockHeldElsewhere(L, 'ci@elsewhere', async () => {
      await clickRow('button[aria-label="Delete app:0.1"]');
      await page.waitForSelector('#confirm:not([hidden])');
      await page.click('#confirm-delete');
      await page.waitForSelector('#log li.error');
      const log = await page.$eval('#log li.error', (e) => e.textContent ?? '');
      assert.match(log, /delete of app:0\.1 failed: the deploy lock on master .* held by ci@elsewhere/);
      assert.deepEqual(await tags(), ['0.1', '0.2']);
    });
  });

  it('deletes from the keyboard a tag that shares its digest: it goes alone, the other tag still pulls', async () => {
    // app:copy is pushed from the master's docker: the same image as app:0.1, so the same digest.
    await L.shOk(
      'master',
      'docker tag master:5000/app:0.1 master:5000/app:copy && docker push -q master:5000/app:copy >/dev/null',
    );
    await refresh();
    await settled();
    const copy = 'button[aria-label="Delete app:copy"]';
    await page.focus(copy);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-cancel');
    await page.keyboard.down('Shift');
    await page.keyboard.press('Tab');
    await page.keyboard.up('Shift');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-delete');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#log li')].some((li) => /removed app:copy/.test(li.textContent ?? '')),
    );
    const log = await page.$eval('#log', (e) => e.textContent ?? '');
    assert.match(log, /removed app:copy alone \(sha256:[0-9a-f]{64} stays, tagged 0\.1\)/);
    assert.deepEqual(await tags(), ['0.1', '0.2']);
    const pulled = await L.sh('worker2', 'docker pull -q master:5000/app:0.1');
    assert.equal(pulled.code, 0, `app:0.1 no longer pulls: ${pulled.stderr}`);
    await page.waitForFunction(() => !document.querySelector('[id="tag-app:copy"]'));
  });

  it('deletes a tag through the page after an in-page confirmation, and the registry stops serving it', async () => {
    // Cancelled with Escape from the keyboard: nothing goes, and focus is back on the Delete button.
    await clickRow('button[aria-label="Delete app:0.2"]');
    await page.waitForSelector('#confirm:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#confirm', { hidden: true });
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'Delete app:0.2',
      'focus did not return to the Delete button',
    );
    assert.deepEqual(await tags(), ['0.1', '0.2']);

    await clickRow('button[aria-label="Delete app:0.2"]');
    await page.waitForSelector('#confirm:not([hidden])');
    await page.click('#confirm-delete');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#log li')].some((li) =>
        /removed app@sha256:/.test(li.textContent ?? ''),
      ),
    );
    const log = await page.$eval('#log', (e) => e.textContent ?? '');
    assert.match(log, /removed app@sha256:[0-9a-f]{64}, tagged 0\.2/);
    assert.deepEqual(await tags(), ['0.1']);
    const pulled = await L.sh('worker2', 'docker pull -q master:5000/app:0.2');
    assert.notEqual(pulled.code, 0, 'the registry still serves app:0.2');
    assert.notEqual((await L.sh('master', `test -e ${LOCK_DIR}`)).code, 0, 'the deploy lock was left behind');
    await page.waitForFunction(() => !document.querySelector('[id="tag-app:0.2"]'));
    assert.ok(await row('tag-app:0.1'));
  });

  it('fits a phone-width screen', async () => {
    await page.setViewport({ width: 390, height: 844 });
    await refresh();
    await page.screenshot({ path: join(shots, 'ui-phone.png'), fullPage: true });
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    assert.ok(scroll <= client, `the page is ${scroll}px wide in a ${client}px viewport`);
  });

  it('stops on SIGTERM with 143', async (t) => {
    ui.child.kill('SIGTERM');
    assert.equal(await exited(ui.child), 143, ui.stderr());
    t.diagnostic(`screenshots in ${shots}`);
  });
});
