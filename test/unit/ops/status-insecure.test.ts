// status on a registry served over plain HTTP (tls.mode none): a healthy cluster still gets the
// loud warning, since its images travel unprotected, and the warning makes the exit code 2.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, type StatusReport } from '../../../src/ops/status.js';
import { GOOD_PLAYBOOK, load } from '../config/helpers.js';

const INSECURE = /^INSECURE: tls\.mode none: the registry master:5000 speaks plain HTTP/;

/** What gatherStatus gathers from a healthy plain-HTTP cluster: no certificate, every probe answers. */
function plainHttpReport(): Parameters<typeof judge>[0] {
  const host = (name: string, role: 'master' | 'worker') => ({
    name,
    role,
    reachable: true,
    docker: 'running' as const,
    trustExpected: true,
    trust: [],
    v2: { code: '200', ok: true },
  });
  return {
    registry: 'master:5000',
    plainHttp: true,
    renewBeforeDays: 30,
    certificate: { path: '/etc/regbook/certs/registry.crt', present: false },
    anchor: { path: '/etc/regbook/certs/registry.crt', present: false },
    container: { name: 'registry', present: true, state: 'running', differences: [] },
    api: { status: 200 },
    hosts: [host('master', 'master'), host('worker1', 'worker'), host('worker2', 'worker')],
    pending: [],
  } satisfies Omit<StatusReport, 'problems' | 'warnings' | 'exitCode'>;
}

describe('status with tls.mode none', () => {
  const none = load(`${GOOD_PLAYBOOK}tls:\n  mode: none\n`).playbook;
  const ca = load(GOOD_PLAYBOOK).playbook;

  it('warns that traffic is insecure on an otherwise healthy cluster, and exits 2', () => {
    assert.equal(none.tls.mode, 'none');
    const j = judge(plainHttpReport(), none);
    assert.deepEqual(j.problems, []);
    assert.equal(j.warnings.length, 1, j.warnings.join('\n'));
    assert.match(j.warnings[0]!, INSECURE);
    assert.match(j.warnings[0]!, /images travel unprotected/);
    assert.equal(j.exitCode, 2);
  });

  it('still warns when the master is unreachable', () => {
    const r = plainHttpReport();
    r.hosts[0] = { name: 'master', role: 'master', reachable: false, error: 'refused', trustExpected: true };
    const j = judge(r, none);
    assert.ok(
      j.warnings.some((w) => INSECURE.test(w)),
      j.warnings.join('\n'),
    );
    assert.equal(j.exitCode, 4);
  });

  it('gives no such warning for a TLS registry', () => {
    assert.notEqual(ca.tls.mode, 'none');
    const j = judge(plainHttpReport(), ca);
    assert.ok(!j.warnings.some((w) => /INSECURE/.test(w)), j.warnings.join('\n'));
  });
});
