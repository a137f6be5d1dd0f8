// What ~/.ssh/config says about one host: HostName, User, Port, IdentityFile and ProxyJump.
// Parsing and Host/Match evaluation come from the ssh-config package; `Match exec` is never run
// (a config file must not make regbook execute commands).

import SSHConfig from 'ssh-config';
import { homedir } from 'node:os';

export interface SshConfigEntry {
  hostName?: string;
  user?: string;
  port?: number;
  /** Expanded paths, in the order OpenSSH would try them. */
  identityFiles: string[];
  /** One hop per element, `[user@]host[:port]`, first hop first; undefined for "none" or unset. */
  proxyJump?: string[];
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Expands `~` and the tokens OpenSSH allows in IdentityFile that we can know here. */
export function expandPath(
  p: string,
  tokens: { host: string; user: string; port: number },
  home = homedir(),
): string {
  const expanded = p.startsWith('~/') || p === '~' ? home + p.slice(1) : p;
  return expanded.replace(/%([%dhrpu])/g, (_m, t: string) => {
    switch (t) {
      case '%':
        return '%';
      case 'd':
        return home;
      case 'h':
        return tokens.host;
      case 'r':
        return tokens.user;
      case 'p':
        return String(tokens.port);
      default:
        return process.env.USER ?? '';
    }
  });
}

export function resolveSshConfig(text: string, host: string, home = homedir()): SshConfigEntry {
  const computed = SSHConfig.parse(text).compute(host, { ignoreCase: true, matchExec: false });
  const hostName = first(computed.hostname);
  const user = first(computed.user);
  const portText = first(computed.port);
  const port = portText !== undefined && /^\d+$/.test(portText) ? Number(portText) : undefined;
  const idRaw = computed.identityfile;
  const ids = idRaw === undefined ? [] : Array.isArray(idRaw) ? idRaw : [idRaw];
  const jump = first(computed.proxyjump);
  const tokens = { host: hostName ?? host, user: user ?? process.env.USER ?? '', port: port ?? 22 };
  return {
    ...(hostName !== undefined ? { hostName } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(port !== undefined ? { port } : {}),
    identityFiles: ids.filter((p) => p.toLowerCase() !== 'none').map((p) => expandPath(p, tokens, home)),
    ...(jump !== undefined && jump.toLowerCase() !== 'none'
      ? {
          proxyJump: jump
            .split(',')
            .map((h) => h.trim())
            .filter(Boolean),
        }
      : {}),
  };
}

/** `[user@]host[:port]` (or `ssh://[user@]host[:port]`) of a ProxyJump hop. */
export function parseJumpHop(hop: string): { user?: string; host: string; port?: number } {
  const s = hop.replace(/^ssh:\/\//, '');
  const at = s.lastIndexOf('@');
  const user = at >= 0 ? s.slice(0, at) : undefined;
  let rest = at >= 0 ? s.slice(at + 1) : s;
  let port: number | undefined;
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    rest = bracketed[1] ?? rest;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else {
    const m = /^(.*):(\d+)$/.exec(rest);
    if (m && !m[1]?.includes(':')) {
      rest = m[1] ?? rest;
      port = Number(m[2]);
    }
  }
  return { ...(user ? { user } : {}), host: rest, ...(port !== undefined ? { port } : {}) };
}
