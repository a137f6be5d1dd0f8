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

/**
 * Shell defining `api_fail BODY [PREFIX]`: prints the daemon's message from an API answer's body
 * (PREFIX before it) on stderr and exits 1. A request refused outright (400, 404, 500) answers
 * one `{"message": …}`; a failure inside a streamed 200 is a line with `"error"` and, or (newer
 * daemons) only, `"errorDetail"`. A body in neither form is printed as it is. JSON's `\"` is
 * printed as `"`.
 */
export const API_FAIL = [
  'api_fail() {',
  `  m=$(printf '%s\\n' "$1" | sed -n -e 's/.*"error":"\\(.*\\)".*/\\1/p' -e 's/.*"errorDetail":{[^}]*"message":"\\([^"]*\\)".*/\\1/p' -e 's/^{"message":"\\(.*\\)"}.*/\\1/p' | head -n 1 | sed 's/\\\\"/"/g')`,
  `  printf '%s%s\\n' "\${2:-}" "\${m:-$1}" >&2; exit 1`,
  '}',
].join('\n');

/**
 * Shell that ends the script for $r, a streamed API answer (pull, push) with ` @@<HTTP status>`
 * after it (curl's -w): exit 0 for a 200 with no error in its stream, else `api_fail`. The daemon
 * answers 200 as soon as the stream starts and reports a failure later inside it.
 */
export const API_STREAM_END = [
  `case "$r" in *'"error"'* | *'"errorDetail"'*) ;; *' @@200') exit 0 ;; esac`,
  'api_fail "${r% @@*}"',
].join('\n');
