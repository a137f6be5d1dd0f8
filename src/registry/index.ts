// The registry's HTTP API v2 over a caller-supplied stream, and its htpasswd file.
export {
  RegistryClient,
  MEDIA_TYPES,
  nextLink,
  type RegistryClientOptions,
  type RegistryResponse,
  type RequestSpec,
  type ManifestInfo,
} from './client.js';
export { RegistryError, type RegistryErrorDetail } from './errors.js';
export {
  renderHtpasswd,
  htpasswdUpToDate,
  parseHtpasswd,
  HtpasswdError,
  type HtpasswdUser,
} from './htpasswd.js';
export {
  InvalidReferenceError,
  assertRepository,
  assertTag,
  assertDigest,
  assertTagOrDigest,
  REPOSITORY_RE,
  TAG_RE,
  DIGEST_RE,
} from './reference.js';
