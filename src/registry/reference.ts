// The parts of the distribution reference grammar (distribution/reference/regexp.go) that reach a
// registry URL path. Validating before building the URL keeps `../`, `?` or `%` out of request paths.

const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const component = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;

/** A repository path without a registry host: `app`, `team/app`, `a.b/c-d`. */
export const REPOSITORY_RE = new RegExp(`^${component}(?:/${component})*$`);
export const TAG_RE = /^[\w][\w.-]{0,127}$/;
export const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
/** distribution's limit for the whole name. */
export const MAX_REPOSITORY_LENGTH = 255;

export class InvalidReferenceError extends Error {
  constructor(
    readonly kind: 'repository' | 'tag' | 'digest' | 'reference',
    readonly value: string,
  ) {
    super(`invalid ${kind} ${JSON.stringify(value)}: not allowed by the distribution reference grammar`);
    this.name = 'InvalidReferenceError';
  }
}

export function assertRepository(name: string): string {
  if (name.length > MAX_REPOSITORY_LENGTH || !REPOSITORY_RE.test(name)) {
    throw new InvalidReferenceError('repository', name);
  }
  return name;
}

export function assertTag(tag: string): string {
  if (!TAG_RE.test(tag)) throw new InvalidReferenceError('tag', tag);
  return tag;
}

export function assertDigest(digest: string): string {
  if (!DIGEST_RE.test(digest)) throw new InvalidReferenceError('digest', digest);
  return digest;
}

/** A manifest reference: a tag or a digest. */
export function assertTagOrDigest(ref: string): string {
  if (TAG_RE.test(ref) || DIGEST_RE.test(ref)) return ref;
  throw new InvalidReferenceError('reference', ref);
}
