import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { KeyParseError, messageOf } from './errors.js';

/**
 * A new RSA private key as PKCS#8 PEM. Node's crypto (OpenSSL) generates it: node-forge's pure-JS
 * generator is several times slower at 2048 bits and far slower at 4096.
 */
export function generateRsaKeyPem(bits: number): string {
  checkBits(bits);
  return generateKeyPairSync('rsa', keyOptions(bits)).privateKey;
}

/** The same, off the main thread: two keys made at once take about the time of one. */
export function generateRsaKeyPemAsync(bits: number): Promise<string> {
  checkBits(bits);
  return new Promise((resolve, reject) =>
    generateKeyPair('rsa', keyOptions(bits), (err, _pub, key) => (err ? reject(err) : resolve(key))),
  );
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 2048)
    throw new KeyParseError(`RSA key size must be ≥ 2048 bits, got ${bits}`);
}

function keyOptions(bits: number) {
  return {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  } as const;
}

/** An unencrypted RSA key (PKCS#1 or PKCS#8 PEM) as node-forge needs it for signing. */
export function forgePrivateKey(keyPem: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  } catch (err) {
    throw new KeyParseError(`cannot read the private key (unencrypted RSA PEM expected): ${messageOf(err)}`, {
      cause: err,
    });
  }
}

export function forgePublicKeyOf(key: forge.pki.rsa.PrivateKey): forge.pki.rsa.PublicKey {
  return forge.pki.setRsaPublicKey(key.n, key.e);
}
