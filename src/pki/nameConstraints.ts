// The nameConstraints extension (RFC 5280 4.2.1.10) that keeps regbook's CA from vouching for any
// name but the registry's own. node-forge reads the extension but has no encoder for it, so the
// DER is built here with forge.asn1.
import forge from 'node-forge';
import { bytesToIp, ipToBytes, sanSet } from './san.js';

export const NAME_CONSTRAINTS_OID = '2.5.29.30';

/**
 * What the constraints permit, in the same normalised text as SANs: `DNS:name` (the name and the
 * names under it, as RFC 5280 defines a DNS subtree), `IP:address` (that one address).
 */
export interface NameConstraintsInfo {
  permitted: string[];
  /** Every DNS name, or every IPv4/IPv6 address, ruled out (a kind the SANs do not use). */
  excluded: string[];
}

const asn1 = forge.asn1;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;
const DNS_TAG = 2;
const IP_TAG = 7;

/** The subtree base of one SAN: a wildcard `*.example.com` is covered by the subtree `example.com`. */
function dnsBase(name: string): string {
  return name.startsWith('*.') ? name.slice(2) : name;
}

/**
 * The constraints for a CA that may sign exactly these SANs. A name kind the SANs do not use is
 * excluded outright: RFC 5280 leaves a kind without permitted subtrees unconstrained, so without
 * the exclusion a DNS-only CA could still sign any IP address (and the other way round).
 */
export function constraintsFor(subjectAltNames: readonly string[]): NameConstraintsInfo {
  const sans = sanSet(subjectAltNames);
  const dns = [...new Set(sans.filter((s) => s.startsWith('DNS:')).map((s) => `DNS:${dnsBase(s.slice(4))}`))];
  const ips = sans.filter((s) => s.startsWith('IP:'));
  const excluded: string[] = [];
  // An empty dNSName base matches every name (OpenSSL, Go and RFC 5280 agree).
  if (dns.length === 0) excluded.push('DNS:');
  if (ips.length === 0) excluded.push('IP:0.0.0.0/0', 'IP:::/0');
  return { permitted: [...dns, ...ips].sort(), excluded: excluded.sort() };
}

function subtree(entry: string): forge.asn1.Asn1 {
  let base: forge.asn1.Asn1;
  if (entry.startsWith('DNS:')) {
    base = asn1.create(CONTEXT, DNS_TAG, false, entry.slice(4));
  } else {
    const [addr, prefix] = entry.slice(3).split('/') as [string, string | undefined];
    const bytes = ipToBytes(addr);
    const bits = prefix === undefined ? bytes.length * 8 : Number(prefix);
    let mask = '';
    for (let i = 0; i < bytes.length; i++) {
      const ones = Math.max(0, Math.min(8, bits - i * 8));
      mask += String.fromCharCode((0xff << (8 - ones)) & 0xff);
    }
    base = asn1.create(CONTEXT, IP_TAG, false, bytes + mask);
  }
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [base]);
}

/** The extension for node-forge's setExtensions: critical, so a client that cannot apply it refuses the CA. */
export function nameConstraintsExtension(info: NameConstraintsInfo): {
  id: string;
  critical: true;
  value: forge.asn1.Asn1;
} {
  const trees: forge.asn1.Asn1[] = [];
  if (info.permitted.length > 0) trees.push(asn1.create(CONTEXT, 0, true, info.permitted.map(subtree)));
  if (info.excluded.length > 0) trees.push(asn1.create(CONTEXT, 1, true, info.excluded.map(subtree)));
  return {
    id: NAME_CONSTRAINTS_OID,
    critical: true,
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, trees),
  };
}

interface ForgeSubtree {
  type: number;
  value: string;
  minimum?: number;
  maximum?: number;
}

function subtreeText(t: ForgeSubtree): string | undefined {
  if (t.minimum !== undefined && t.minimum !== 0) return undefined;
  if (t.maximum !== undefined) return undefined;
  if (t.type === DNS_TAG) return `DNS:${t.value.toLowerCase()}`;
  if (t.type !== IP_TAG || (t.value.length !== 8 && t.value.length !== 32)) return undefined;
  const half = t.value.length / 2;
  const addr = bytesToIp(t.value.slice(0, half));
  let bits = 0;
  for (const c of t.value.slice(half)) bits += c.charCodeAt(0).toString(2).replace(/0/g, '').length;
  return bits === half * 8 ? `IP:${addr}` : `IP:${addr}/${bits}`;
}

/**
 * The CA certificate's constraints as this module writes them, or undefined when it has none, the
 * extension is not critical, or it holds something this module would not write.
 */
export function readNameConstraints(cert: forge.pki.Certificate): NameConstraintsInfo | undefined {
  const ext = cert.getExtension('nameConstraints') as
    { critical?: boolean; permittedSubtrees?: ForgeSubtree[]; excludedSubtrees?: ForgeSubtree[] } | undefined;
  if (!ext || ext.critical !== true || !ext.permittedSubtrees) return undefined;
  const read = (list: ForgeSubtree[]) => list.map(subtreeText);
  const permitted = read(ext.permittedSubtrees);
  const excluded = read(ext.excludedSubtrees ?? []);
  if ([...permitted, ...excluded].some((t) => t === undefined)) return undefined;
  return { permitted: (permitted as string[]).sort(), excluded: (excluded as string[]).sort() };
}

export function sameConstraints(a: NameConstraintsInfo, b: NameConstraintsInfo): boolean {
  const eq = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.permitted, b.permitted) && eq(a.excluded, b.excluded);
}
