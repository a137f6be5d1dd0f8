import { posix } from 'node:path';
import type { Change, Step } from '../core/task.js';
import { Later } from '../core/later.js';
import type { Playbook } from '../config/model.js';
import type { PlannedStage } from '../engine/context.js';
import { readFiles, type RemoteFile } from '../facts/files.js';
import { PRIVATE_DIR_MODE, privateDirFixes, readDirs, type RemoteDir } from '../facts/dirs.js';
import {
  certificateVerdict,
  createCa,
  createServerCert,
  generateRsaKeyPemAsync,
  inspectCert,
  type CertificateVerdict,
} from '../pki/index.js';
import { Secret } from '../core/secret.js';
import { parallel } from './steps.js';
import { masterName, type Shared } from './shared.js';

export const KEY_MODE = 0o600;
export const CERT_MODE = 0o444;

export function tlsPaths(dir: string) {
  return {
    caCrt: posix.join(dir, 'ca.crt'),
    caKey: posix.join(dir, 'ca.key'),
    serverCrt: posix.join(dir, 'server.crt'),
    serverKey: posix.join(dir, 'server.key'),
    /** The replicas' shared http.secret, made by regbook (replicas.ts). */
    httpSecret: posix.join(dir, 'http.secret'),
  };
}

const text = (f: RemoteFile | undefined) => f?.content.toString('utf8');

function describeCert(c: { sans: string[]; notAfter: Date } | undefined): string | undefined {
  return c ? `SAN ${c.sans.join(', ')}; expires ${c.notAfter.toISOString().slice(0, 10)}` : undefined;
}

/** Files whose content is right but whose mode is not: fixed with chmod, reported as changes. */
export function modeFixes(files: Array<[string, RemoteFile | undefined, number]>): {
  changes: Change[];
  steps: Step[];
} {
  const changes: Change[] = [];
  const steps: Step[] = [];
  for (const [path, f, mode] of files) {
    const want = mode.toString(8);
    if (f && f.mode !== want) {
      changes.push({ what: `${path} mode`, from: f.mode, to: want });
      steps.push({
        kind: 'exec',
        describe: `chmod ${path}`,
        cmd: { argv: ['chmod', want, '--', path], privileged: true },
      });
    }
  }
  return { changes, steps };
}

/** New RSA keys for the pairs that are made again; made on the control node, sent nowhere by themselves. */
export interface NewKeys {
  ca?: string;
  server?: string;
}

/** What the master holds in tls.dir, and keys started for what will be made again. */
export interface TlsFacts {
  files: Map<string, RemoteFile | undefined>;
  dirs: Map<string, RemoteDir | undefined>;
  /**
   * Started as soon as the read shows a pair is to be made again, so on a first apply the keys
   * (the longest part of the task) are made while the hosts run their facts; the step that makes
   * the certificates takes them, or makes its own when none were started.
   */
  newKeys?: Promise<NewKeys>;
}

function verdictOf(pb: Playbook, files: TlsFacts['files'], now: Date): CertificateVerdict {
  const { tls } = pb;
  const p = tlsPaths(tls.dir);
  return certificateVerdict({
    desired: {
      commonName: tls.commonName,
      subjectAltNames: tls.subjectAltNames,
      days: tls.days,
      renewBeforeDays: tls.renewBeforeDays,
      // The task concerns no host in mode none.
      mode: tls.mode === 'selfsigned' ? 'selfsigned' : 'ca',
    },
    now,
    ...(tls.mode === 'ca'
      ? { ca: { keyPem: text(files.get(p.caKey)), certPem: text(files.get(p.caCrt)) } }
      : {}),
    server: { keyPem: text(files.get(p.serverKey)), certPem: text(files.get(p.serverCrt)) },
  });
}

function regenerations(pb: Playbook, verdict: CertificateVerdict) {
  const caRegen = pb.tls.mode === 'ca' && verdict.ca.regenerate;
  return { caRegen, serverRegen: verdict.server.regenerate || caRegen };
}

function makeKeys(bits: number, ca: boolean, server: boolean): Promise<NewKeys> {
  // Made at the same time (OpenSSL's thread pool), not one after the other.
  return Promise.all([
    ca ? generateRsaKeyPemAsync(bits) : undefined,
    server ? generateRsaKeyPemAsync(bits) : undefined,
  ]).then(([c, s]) => ({ ...(c ? { ca: c } : {}), ...(s ? { server: s } : {}) }));
}

/** Reads tls.dir on the master (the files and the directory); nothing is written. */
export async function gatherTls(pb: Playbook, conn: Parameters<typeof readFiles>[0]): Promise<TlsFacts> {
  const p = tlsPaths(pb.tls.dir);
  const [files, dirs] = await Promise.all([
    readFiles(conn, [p.caCrt, p.caKey, p.serverCrt, p.serverKey]),
    readDirs(conn, [pb.tls.dir]),
  ]);
  const { caRegen, serverRegen } = regenerations(pb, verdictOf(pb, files, new Date()));
  if (!caRegen && !serverRegen) return { files, dirs };
  const newKeys = makeKeys(pb.tls.keyBits, caRegen, serverRegen);
  newKeys.catch(() => undefined);
  return { files, dirs, newKeys };
}

/**
 * The CA (mode ca) and the server pair in tls.dir, made again only when the verdict says so; the
 * new PEMs exist only once the step that makes them has run, so later tasks get them as Later
 * values, pending in check mode.
 */
export const tlsStage: PlannedStage<Shared, TlsFacts> = {
  // tls.mode none: no certificate, so no host this task concerns.
  hosts: (run) => (run.playbook.tls.mode === 'none' ? [] : [masterName(run)]),
  gather: (ctx) => gatherTls(ctx.run.playbook, ctx.conn),
  // tls.dir is written by no earlier task: read it while the hosts run their facts.
  gatherEarly: true,
  plan(facts, { playbook, now }) {
    const { tls } = playbook;
    const p = tlsPaths(tls.dir);
    const { files } = facts;
    const verdict = verdictOf(playbook, files, now);
    const { caRegen, serverRegen } = regenerations(playbook, verdict);

    const changes: Change[] = [];
    const made = {
      caKey: Later.pending<string>('a new CA key is made'),
      caCrt: Later.pending<string>('a new CA is made'),
      serverKey: Later.pending<string>('a new server key is made'),
      serverCrt: Later.pending<string>('a new server certificate is made'),
      serverFingerprint: Later.pending<string>('a new server certificate is made'),
      serverKeySecret: Later.pending<Secret>('a new server key is made'),
    };
    // The CA pair and the server pair are written side by side, each key before its certificate;
    // each key's write makes the files' directory if it is missing. Key first: an interruption
    // between the two leaves a key/cert mismatch, which the next run detects and repairs, never
    // a certificate the key cannot serve.
    const caSteps: Step[] = [];
    const serverSteps: Step[] = [];
    const write = (path: string, data: Later<string>, mode: number, dirMode?: number): Step => ({
      kind: 'write',
      describe: `write ${path}`,
      path,
      data,
      mode,
      ...(dirMode ? { dirMode } : {}),
    });
    if (caRegen) {
      changes.push({ what: p.caCrt, why: verdict.ca.reasons.join('; ') });
      caSteps.push(
        write(p.caKey, made.caKey, KEY_MODE, PRIVATE_DIR_MODE),
        write(p.caCrt, made.caCrt, CERT_MODE),
      );
    }
    if (serverRegen) {
      const reasons = verdict.server.reasons.length ? verdict.server.reasons : ['the CA is regenerated'];
      const to = `SAN ${tls.subjectAltNames.join(', ')}; valid ${tls.days} days`;
      const from = describeCert(verdict.current);
      changes.push({ what: p.serverCrt, ...(from ? { from } : {}), to, why: reasons.join('; ') });
      serverSteps.push(
        write(p.serverKey, made.serverKey, KEY_MODE, PRIVATE_DIR_MODE),
        write(p.serverCrt, made.serverCrt, CERT_MODE),
      );
    }
    const fixes = modeFixes([
      ...(tls.mode === 'ca' && !caRegen
        ? ([
            [p.caKey, files.get(p.caKey), KEY_MODE],
            [p.caCrt, files.get(p.caCrt), CERT_MODE],
          ] as Array<[string, RemoteFile | undefined, number]>)
        : []),
      ...(!serverRegen
        ? ([
            [p.serverKey, files.get(p.serverKey), KEY_MODE],
            [p.serverCrt, files.get(p.serverCrt), CERT_MODE],
          ] as Array<[string, RemoteFile | undefined, number]>)
        : []),
    ]);
    changes.push(...fixes.changes);
    // The directory first: the keys are never readable through it, even before their chmod.
    const dirFixes = privateDirFixes(facts.dirs);
    changes.unshift(...dirFixes.changes);

    const make: Step[] =
      caRegen || serverRegen
        ? [
            {
              kind: 'fn',
              describe: 'make the certificates',
              run: async () => {
                const keys = await (facts.newKeys ?? makeKeys(tls.keyBits, caRegen, serverRegen));
                const common = {
                  commonName: tls.commonName,
                  subjectAltNames: tls.subjectAltNames,
                  days: tls.days,
                  keyBits: tls.keyBits,
                };
                let ca = { keyPem: text(files.get(p.caKey)), certPem: text(files.get(p.caCrt)) };
                if (caRegen) {
                  const pair = createCa({ ...common, ...(keys.ca ? { keyPem: keys.ca } : {}) });
                  made.caKey.resolve(pair.keyPem);
                  made.caCrt.resolve(pair.certPem);
                  ca = pair;
                }
                if (serverRegen) {
                  const pair = createServerCert({
                    ...common,
                    ...(keys.server ? { keyPem: keys.server } : {}),
                    ...(tls.mode === 'ca' ? { ca: { keyPem: ca.keyPem!, certPem: ca.certPem! } } : {}),
                  });
                  made.serverKey.resolve(pair.keyPem);
                  made.serverCrt.resolve(pair.certPem);
                  made.serverKeySecret.resolve(new Secret(pair.keyPem));
                  made.serverFingerprint.resolve(inspectCert(pair.certPem).fingerprintSha256);
                }
              },
            },
          ]
        : [];

    const serverPem = text(files.get(p.serverCrt));
    const serverFingerprint = serverRegen
      ? made.serverFingerprint
      : serverPem
        ? Later.known(inspectCert(serverPem).fingerprintSha256)
        : undefined;
    // The pair the other replicas serve too.
    const serverKeyPem = text(files.get(p.serverKey));
    const serverPair = serverRegen
      ? { cert: made.serverCrt, key: made.serverKeySecret }
      : serverPem !== undefined && serverKeyPem !== undefined
        ? { cert: Later.known(serverPem), key: Later.known(new Secret(serverKeyPem)) }
        : undefined;
    const existingAnchor = text(files.get(tls.mode === 'ca' ? p.caCrt : p.serverCrt));
    const anchorChanged = tls.mode === 'ca' ? caRegen : serverRegen;
    const anchorPem = anchorChanged
      ? tls.mode === 'ca'
        ? made.caCrt
        : made.serverCrt
      : existingAnchor !== undefined
        ? Later.known(existingAnchor)
        : undefined;
    return {
      changes,
      steps: [
        ...dirFixes.steps,
        ...make,
        ...parallel('write the certificates', [caSteps, serverSteps]),
        ...fixes.steps,
      ],
      record: {
        tls: {
          ...(anchorPem ? { anchorPem } : {}),
          anchorChanged,
          ...(serverFingerprint ? { serverFingerprint } : {}),
          serverChanged: serverRegen,
          ...(serverPair ? { serverPair } : {}),
        },
      },
    };
  },
};
