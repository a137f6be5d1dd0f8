// The engine API through curl, where it reaches the daemon the docker client would reach: asking
// it costs a host a fraction of the CPU that starting the docker client does, on every host of
// every run.

/**
 * Shell that succeeds, with $s the daemon's socket, where curl reaches the same daemon the docker
 * client would: the default socket, no DOCKER_HOST, DOCKER_CONTEXT or context in the client's
 * config, and curl installed. Anywhere else the scripts that use it ask the docker client.
 */
export const ENGINE_API_GATE = [
  's=/var/run/docker.sock c=${DOCKER_CONFIG:-${HOME:-/}/.docker}/config.json;',
  '[ -z "${DOCKER_HOST:-}${DOCKER_CONTEXT:-}" ] && [ -S "$s" ] && command -v curl >/dev/null 2>&1 &&',
  '! { [ -f "$c" ] && grep -q currentContext "$c"; }',
].join(' ');

/** A path segment of an API URL: names may hold `/` and `:`, which the daemon's router takes as they are. */
export function apiPathSegment(name: string): string {
  return name.replace(/[^A-Za-z0-9._~:@/-]/g, (ch) => encodeURIComponent(ch));
}
