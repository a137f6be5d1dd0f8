// Whether a host reaches the registry: `GET /v2/` by curl on that host, trusting what docker
// trusts there, so `status` tells what a pull from that host would meet.
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';

// curl on the host, trusting what docker trusts for this registry: certs.d's ca.crt when there is
// one, else the system store. Prints the HTTP code and curl's exit code; the address and the path
// travel as positional arguments.
const V2_SCRIPT = [
  'command -v curl >/dev/null 2>&1 || { echo "nocurl"; exit 0; }',
  'url="${3:-https}://$1/v2/"',
  'if [ -n "$2" ] && [ -f "$2" ]; then set -- --cacert "$2"; else set --; fi',
  'code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 10 "$@" "$url"); rc=$?',
  'echo "$code $rc"',
].join('\n');
declareShellScript('facts/registry-reach: registry /v2/ from a host', V2_SCRIPT);

export function v2Cmd(address: string, certsD: string | undefined, scheme: 'https' | 'http' = 'https'): Cmd {
  return { argv: ['sh', '-c', V2_SCRIPT, 'sh', address, certsD ?? '', scheme] };
}

export function parseV2(stdout: string): { code: string; ok: boolean; detail?: string } {
  const out = stdout.trim();
  if (out === 'nocurl') return { code: '-', ok: false, detail: 'curl is not installed on the host' };
  const [code = '000', rc = '0'] = out.split(/\s+/);
  // 401: the registry answered and wants a login (auth on): it is reachable and trusted.
  const ok = code === '200' || code === '401';
  return {
    code,
    ok,
    ...(ok ? {} : { detail: rc !== '0' ? `curl exit ${rc}` : `HTTP ${code}` }),
  };
}
