// Shared pieces of the end-to-end tests: playbooks for the lab and independent views of its hosts.
import assert from 'node:assert/strict';
import type { Lab } from '../helpers/lab.js';
import { changedPairs, parseNdjson, regbook, writeYaml, type CliResult } from '../helpers/cli.js';

export interface PlaybookDoc {
  version: 1;
  registry: Record<string, unknown>;
  tls: Record<string, unknown>;
  trust?: Record<string, unknown>;
  images?: Array<Record<string, unknown>>;
}

export function basePlaybook(): PlaybookDoc {
  return {
    version: 1,
    registry: { address: 'master:5000', deleteEnabled: true },
    tls: {
      mode: 'ca',
      commonName: 'master',
      subjectAltNames: ['DNS:master', 'IP:127.0.0.1'],
      days: 800,
      renewBeforeDays: 30,
    },
    trust: { hosts: 'all', system: true, restartDocker: 'on-change' },
    images: [
      { name: 'app:0.1', source: { host: 'master' }, pullOn: 'workers' },
      { name: 'app:0.2', source: { host: 'master' }, pullOn: 'workers' },
    ],
  };
}

export function writePlaybook(dir: string, doc: PlaybookDoc, name = 'site.yaml'): string {
  return writeYaml(dir, name, doc);
}

export async function applyJson(pb: string, inv: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const r = await regbook(['apply', pb, '-i', inv, '--output', 'json', ...extra], { env });
  let parsed: ReturnType<typeof parseNdjson>;
  try {
    parsed = parseNdjson(r.stdout);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nstderr:\n${r.stderr}`, { cause: err });
  }
  return { ...r, ...parsed, pairs: changedPairs(parsed.tasks) };
}

export function explain(r: CliResult): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/**
 * What is on every host, read with docker exec, not through regbook: files regbook may write,
 * containers and images. Check mode must leave this unchanged.
 */
export async function hostState(lab: Lab): Promise<Record<string, string>> {
  const script = [
    'find /etc/regbook /etc/docker/certs.d /etc/docker/daemon.json /etc/containerd /etc/containers/certs.d /etc/containers/registries.conf.d /usr/local/share/ca-certificates /var/lib/regbook -type f 2>/dev/null | sort | xargs -r sha256sum',
    'echo "pids $(pidof dockerd) $(pidof containerd)"',
    'stat -c "%n %a" /etc/ssl/certs/ca-certificates.crt',
    'sha256sum /etc/ssl/certs/ca-certificates.crt',
    'docker ps -a --format "{{.Names}} {{.ID}} {{.Status}}" | sed "s/Up .*/Up/"',
    'docker images --format "{{.Repository}}:{{.Tag}} {{.ID}}" | sort',
  ].join('; ');
  const out: Record<string, string> = {};
  for (const h of lab.hosts) out[h.name] = await lab.shOk(h.name, script);
  return out;
}

/** dockerd's pid on each host, to prove a run restarted no daemon. */
export async function dockerdPids(lab: Lab): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of lab.hosts) out[h.name] = (await lab.shOk(h.name, 'pidof dockerd')).trim();
  return out;
}

/** Check mode, then apply: both succeed and agree on which (host, task) pairs change. */
export async function checkThenApply(pb: string, inv: string, lab: Lab, env: NodeJS.ProcessEnv = {}) {
  const before = await hostState(lab);
  const check = await applyJson(pb, inv, ['--check'], env);
  assert.equal(check.code, 0, explain(check));
  assert.deepEqual(await hostState(lab), before, 'check mode changed something on a host');
  const apply = await applyJson(pb, inv, [], env);
  assert.equal(apply.code, 0, explain(apply));
  assert.deepEqual(
    check.pairs,
    apply.pairs,
    `check predicted ${check.pairs.join(' ')}; apply changed ${apply.pairs.join(' ')}`,
  );
  return { check, apply };
}

export function allZeroChanged(recap: Record<string, { changed: number }>): boolean {
  return Object.values(recap).every((c) => c.changed === 0);
}

/** Where the deploy lock lives on the master. */
export const LOCK_DIR = '/var/lib/regbook/lock';

/**
 * Runs `body` while the master's deploy lock is held by a run of another machine (`holder`), as
 * its record says, and frees the lock afterwards whatever happens.
 */
export async function withLockHeldElsewhere<T>(lab: Lab, holder: string, body: () => Promise<T>): Promise<T> {
  const record = JSON.stringify({
    id: 'other-run',
    holder,
    pid: 4242,
    since: new Date().toISOString(),
    command: 'regbook apply site.yaml',
  });
  await lab.shOk('master', `mkdir -p ${LOCK_DIR} && printf '%s\\n' '${record}' > ${LOCK_DIR}/holder.json`);
  try {
    return await body();
  } finally {
    await lab.shOk('master', `rm -rf ${LOCK_DIR}`);
  }
}
