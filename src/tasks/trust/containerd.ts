// containerd's per-registry trust: a hosts directory (/etc/containerd/certs.d/<address>/, with
// hosts.toml and ca.crt), read at each pull. ctr takes it with --hosts-dir; the CRI plugin (what
// Kubernetes pulls with) reads it only where its registry config_path names the directory, which
// is set in /etc/containerd/config.toml and needs a containerd restart. Containers keep running
// through that restart: each one's shim outlives containerd.
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'smol-toml';
import type { Cmd } from '../../core/cmd.js';
import type { DockerApi } from '../../transport/dockerEngine.js';
import { declareShellScript } from '../../core/shell-script.js';
import { TaskFailure } from '../../core/task.js';

export const CONTAINERD_CERTS_D = '/etc/containerd/certs.d';
export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

/** hosts.toml for the registry: https with the CA beside it, or plain http (tls.mode none). */
export function hostsToml(address: string, scheme: 'https' | 'http', caPath?: string): string {
  const url = `${scheme}://${address}`;
  return [
    '# Written by regbook: how containerd reaches this registry.',
    `server = ${JSON.stringify(url)}`,
    '',
    `[host.${JSON.stringify(url)}]`,
    '  capabilities = ["pull", "resolve", "push"]',
    ...(caPath ? [`  ca = ${JSON.stringify(caPath)}`] : []),
    '',
  ].join('\n');
}

type Table = Record<string, unknown>;

/** Where a config file of each version keeps the CRI plugin's registry settings. */
function registryTable(version: number): string[] {
  if (version >= 3) return ['plugins', 'io.containerd.cri.v1.images', 'registry'];
  if (version === 2) return ['plugins', 'io.containerd.grpc.v1.cri', 'registry'];
  return ['plugins', 'cri', 'registry'];
}

function at(obj: Table, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Table)[k];
  }
  return cur;
}

/** The data alone: the parser's objects have no prototype, a clone's have Object's. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function header(path: readonly string[]): string {
  return `[${path.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k))).join('.')}]`;
}

export interface ConfigEdit {
  /** The whole new file. */
  text: string;
  from: string;
  to: string;
  /** The file's comments and layout could not be kept (it was written anew from its data). */
  rewritten: boolean;
}

/**
 * The config.toml that makes the CRI plugin read the hosts directory, or undefined when it already
 * does (or the plugin is disabled). Only the config_path line is added or changed; the result is
 * parsed again and must hold the same data as before apart from that value.
 */
export function configPathEdit(text: string | undefined, file = CONTAINERD_CONFIG): ConfigEdit | undefined {
  let data: Table;
  try {
    data = text === undefined ? {} : (parse(text) as Table);
  } catch (err) {
    throw new TaskFailure(`${file} is not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const disabled = Array.isArray(data.disabled_plugins) ? (data.disabled_plugins as unknown[]) : [];
  if (disabled.includes('cri') || disabled.includes('io.containerd.grpc.v1.cri')) return undefined;
  // A missing file means containerd's defaults: a version 2 file adds only what we set.
  const version = text === undefined ? 2 : typeof data.version === 'number' ? data.version : 1;
  const path = registryTable(version);
  const current = at(data, [...path, 'config_path']);
  const have = typeof current === 'string' ? current : '';
  if (have.split(':').includes(CONTAINERD_CERTS_D)) return undefined;
  const want = have ? `${have}:${CONTAINERD_CERTS_D}` : CONTAINERD_CERTS_D;
  const line = `  config_path = ${JSON.stringify(want)}`;
  const expected = plain(data) as Table;
  let table = expected;
  for (const k of path) table = (table[k] ??= {}) as Table;
  table.config_path = want;
  if (text === undefined) expected.version = 2;

  let edited: string;
  const lines = (text ?? '').split('\n');
  const head = header(path);
  const headAt = lines.findIndex(
    (l) => l.replace(/#.*$/, '').replace(/\s+/g, '') === head.replace(/\s+/g, ''),
  );
  if (text === undefined) {
    edited = `version = 2\n\n${head}\n${line}\n`;
  } else if (headAt >= 0) {
    let end = lines.findIndex((l, i) => i > headAt && /^\s*\[/.test(l));
    if (end < 0) end = lines.length;
    const keyAt = lines.findIndex((l, i) => i > headAt && i < end && /^\s*config_path\s*=/.test(l));
    const out = [...lines];
    if (keyAt >= 0) out[keyAt] = line;
    else out.splice(headAt + 1, 0, line);
    edited = out.join('\n');
  } else {
    edited = `${text.replace(/\n*$/, '\n')}\n${head}\n${line}\n`;
  }
  let rewritten = false;
  let ok: boolean;
  try {
    ok = isDeepStrictEqual(plain(parse(edited)), plain(expected));
  } catch {
    ok = false;
  }
  if (!ok) {
    // The table is spelt in a way a line edit cannot reach (dotted keys, an inline table): write
    // the file anew from its data, which keeps every setting but not its comments.
    edited = stringify(expected) + '\n';
    rewritten = true;
  }
  return { text: edited, from: have || '(unset)', to: want, rewritten };
}

// Restarts containerd and waits until it answers. Where no service manager knows it (it was
// started by hand or by an entry point), it is started again with the command line it runs with.
const RESTART_CONTAINERD = [
  'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl restart containerd',
  'elif [ -x /etc/init.d/containerd ]; then service containerd restart',
  'else',
  '  pid=$(pidof containerd) || { echo "containerd is not running" >&2; exit 1; }',
  '  case "$pid" in *" "*) echo "more than one containerd runs ($pid); restart the right one yourself" >&2; exit 1 ;; esac',
  '  cp /proc/$pid/cmdline /tmp/.regbook-containerd-cmdline',
  '  kill -TERM "$pid"',
  '  i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ $i -ge 300 ] && { echo "containerd did not stop" >&2; exit 1; }; sleep 0.1; done',
  `  xargs -0 sh -c 'setsid "$@" </dev/null >>/var/log/containerd.log 2>&1 &' sh </tmp/.regbook-containerd-cmdline`,
  '  rm -f /tmp/.regbook-containerd-cmdline',
  'fi',
  `i=0; until ctr --address ${CONTAINERD_SOCKET} version >/dev/null 2>&1; do i=$((i+1)); [ $i -ge 300 ] && { echo "containerd did not come back" >&2; exit 1; }; sleep 0.1; done`,
].join('\n');
declareShellScript('tasks/trust/containerd: restart containerd', RESTART_CONTAINERD);

export function restartContainerdCmd(): Cmd {
  return { argv: ['sh', '-c', RESTART_CONTAINERD], privileged: true };
}

/**
 * A dockerd that uses this containerd reconnects on its own, after a back-off of up to a few
 * seconds; until then its pulls fail ("error creating temporary lease"). Its version answer lists
 * containerd only while it is connected. A host whose docker does not answer has nothing to wait for.
 */
export async function waitDockerOnContainerd(docker: DockerApi, timeoutMs = 30_000): Promise<void> {
  const components = async () =>
    (await docker.json<{ Components?: { Name?: string }[] }>('GET', '/version', { timeoutMs: 5000 }))
      ?.Components ?? [];
  try {
    await components();
  } catch {
    return;
  }
  const until = Date.now() + timeoutMs;
  for (;;) {
    const names: (string | undefined)[] = await components().then(
      (c) => c.map((x) => x.Name),
      () => [],
    );
    if (names.includes('containerd')) return;
    if (Date.now() >= until) throw new TaskFailure('docker did not reconnect to containerd');
    await new Promise((r) => setTimeout(r, 100));
  }
}
