// The page as chromium draws it from a stand-in state (no lab): what a host that cannot be reached,
// a pending change and the two image ids look like. test/e2e/ui.test.ts drives it against the lab.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { newToken } from '../../../src/web/security.js';
import { startUiServer, type UiServer } from '../../../src/web/server.js';
import type { UiState } from '../../../src/web/state.js';
import type { HostStatus, ReplicaStatus } from '../../../src/ops/status.js';
import { hostCells, replicaCells } from '../../../src/ui/status-report.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ID = (c: string) => `sha256:${c.repeat(64)}`;

function standIn(over: Partial<UiState> = {}): UiState {
  const cert = {
    path: '/etc/regbook/tls/server.crt',
    present: true,
    subject: 'master',
    issuer: 'regbook CA',
    sans: ['DNS:master'],
    notAfter: '2028-01-01T00:00:00.000Z',
    daysLeft: 400,
    fingerprint: 'AA:BB',
  };
  const up = (name: string, role: 'master' | 'worker') => ({
    name,
    role,
    reachable: true,
    docker: 'running' as const,
    trustExpected: true,
    trust: [
      { kind: 'certs.d' as const, path: '/etc/docker/certs.d/master:5000/ca.crt', state: 'ok' as const },
    ],
    v2: { code: '200', ok: true },
  });
  return {
    registry: 'master:5000',
    readAt: new Date().toISOString(),
    plainHttp: false,
    deleteEnabled: true,
    renewBeforeDays: 30,
    certificate: cert,
    anchor: cert,
    container: { name: 'registry', present: true, state: 'running' },
    api: { status: 200 },
    repositories: [
      {
        repository: 'app',
        tags: [{ tag: '0.1', digest: ID('d'), imageId: ID('a'), size: 1536, sizeText: '1.5 KiB' }],
      },
    ],
    images: [
      {
        name: 'app',
        reference: 'master:5000/app:0.1',
        registryDigest: ID('d'),
        registryImageId: ID('a'),
        hosts: [
          { host: 'master', expected: false, state: 'absent' },
          { host: 'worker1', expected: true, imageId: ID('a'), state: 'same' },
          { host: 'worker2', expected: true, state: 'unknown' },
        ],
        drift: false,
      },
    ],
    hosts: (
      [
        up('master', 'master'),
        up('worker1', 'worker'),
        {
          name: 'worker2',
          role: 'worker',
          reachable: false,
          trustExpected: true,
          error: 'connect ECONNREFUSED 127.0.0.1:2223',
        },
      ] as HostStatus[]
    ).map((h) => ({ ...h, cells: hostCells(h, true) })),
    problems: ['worker2: unreachable: connect ECONNREFUSED 127.0.0.1:2223'],
    warnings: [],
    pending: [],
    ...over,
  } as UiState;
}

describe(
  'the page, drawn by chromium from a stand-in state',
  { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}` },
  () => {
    let state = standIn();
    let ui: UiServer;
    let browser: Browser;
    let page: Page;
    const cells = (id: string) => page.$$eval(`[id="${id}"] td`, (tds) => tds.map((t) => t.textContent));
    const load = async (s: UiState) => {
      state = s;
      await page.goto(ui.url, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#hosts table');
    };

    before(async () => {
      ui = await startUiServer(newToken(), {
        state: () => Promise.resolve(state),
        remove: () => Promise.resolve([]),
      });
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        // Tests may run as root, where chromium's sandbox cannot start.
        args: ['--no-sandbox', '--disable-dev-shm-usage'],
      });
      page = await browser.newPage();
    });
    after(async () => {
      await browser?.close();
      await ui?.close();
    });

    it('a host that cannot be reached: "no" and why, its row flagged', async () => {
      await load(standIn());
      const row = await cells('host-worker2');
      assert.equal(row[0], 'worker2');
      assert.equal(row[2], 'no: connect ECONNREFUSED 127.0.0.1:2223');
      assert.equal(await page.$eval('[id="host-worker2"]', (e) => e.className), 'drift');
      assert.equal(await page.$eval('[id="host-worker2"] td:nth-child(3)', (e) => e.className), 'bad');
      assert.equal((await cells('host-worker1'))[2], 'yes');
      assert.equal(await page.$eval('[id="host-worker1"]', (e) => e.className), '');
      const summary = await page.$eval('#summary', (e) => e.textContent ?? '');
      assert.match(summary, /problem: worker2: unreachable/);
      assert.doesNotMatch(summary, /healthy/);
    });

    it("each host's image id beside the registry's", async () => {
      await load(standIn());
      const row = await cells('hold-app@worker1');
      assert.equal(row[2], 'a'.repeat(12));
      assert.equal(row[3], 'a'.repeat(12));
      const titles = await page.$$eval('[id="hold-app@worker1"] code', (c) =>
        c.map((x) => x.getAttribute('title')),
      );
      assert.deepEqual(titles, [ID('a'), ID('a')]);
    });

    it('a change pending is not healthy, as regbook status says', async () => {
      const healthy = { hosts: standIn().hosts.slice(0, 2), problems: [] };
      await load(standIn(healthy));
      assert.equal(await page.$eval('#summary', (e) => e.textContent), 'healthy');
      await load(standIn({ ...healthy, pending: ['worker1: images: master:5000/app:0.1 (- → sha256:aa)'] }));
      const summary = await page.$eval('#summary', (e) => e.textContent ?? '');
      assert.equal(summary, 'change pending: worker1: images: master:5000/app:0.1 (- → sha256:aa)');
    });

    it("each replica's row, status's own: a replica down is flagged, and named in the summary", async () => {
      const replica = (host: string, down: boolean): ReplicaStatus => ({
        host,
        reachable: true,
        container: { name: 'registry', present: true, state: down ? 'exited' : 'running', differences: [] },
        v2: down
          ? { url: `https://${host}:5000/v2/`, error: 'connect ECONNREFUSED 127.0.0.1:5000', ok: false }
          : { url: `https://${host}:5000/v2/`, status: 401, ok: true },
        health: down ? 'down' : 'up',
      });
      const replicas = [replica('master', false), replica('worker1', true)].map((r) => ({
        ...r,
        cells: replicaCells(r),
      }));
      await load(standIn());
      assert.equal(await page.$eval('#replicas-section', (e) => e.hasAttribute('hidden')), true);
      await load(
        standIn({
          replicas,
          problems: ['replica worker1 is down: container registry is exited'],
        }),
      );
      assert.equal(await page.$eval('#replicas-section', (e) => e.hasAttribute('hidden')), false);
      assert.deepEqual(await cells('replica-master'), ['master', 'registry running', 'ok', 'ok (401)', 'up']);
      assert.equal(await page.$eval('[id="replica-master"]', (e) => e.className), '');
      const down = await cells('replica-worker1');
      assert.equal(down[1], 'registry exited');
      assert.equal(down[4], 'down');
      assert.equal(await page.$eval('[id="replica-worker1"]', (e) => e.className), 'drift');
      assert.equal(await page.$eval('[id="replica-worker1"] td:nth-child(5)', (e) => e.className), 'bad');
      assert.match(await page.$eval('#summary', (e) => e.textContent ?? ''), /replica worker1 is down/);
    });
  },
);
