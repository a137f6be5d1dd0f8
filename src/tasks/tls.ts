import { posix } from 'node:path';
import type { Change, Step } from '../core/task.js';
import type { Playbook } from '../config/model.js';
import type { RunStage, TaskDef } from '../engine/context.js';
import type { Connection } from '../transport/types.js';
import { readFiles, type RemoteFile } from '../facts/files.js';
import { PRIVATE_DIR_MODE, privateDirFixes, readDirs } from '../facts/dirs.js';
import { aheadSlot } from './ahead.js';
import { applySteps, parallel, result } from './steps.js';
import { masterName, type Ctx, type Shared } from './shared.js';

export const KEY_MODE = 0o600;
export const CERT_MODE = 0o444;

export function tlsPaths(dir: string) {
  return {
    caCrt: posix.join(dir, 'ca.crt'),
    caKey: posix.join(dir, 'ca.key'),
    serverCrt: posix.join(dir, 'server.crt'),
    serverKey: posix.join(dir, 'server.key'),
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

/** What the master holds in tls.dir, what must be made again, and the new keys that needs. */
async function readTls(pb: Playbook, conn: Connection, check: boolean) {
  const { tls } = pb;
  const p = tlsPaths(tls.dir);
  const [files, dirs, pki] = await Promise.all([
    readFiles(conn, [p.caCrt, p.caKey, p.serverCrt, p.serverKey]),
    readDirs(conn, [tls.dir]),
    import('../pki/index.js'),
  ]);
  const ca =
    tls.mode === 'ca' ? { keyPem: text(files.get(p.caKey)), certPem: text(files.get(p.caCrt)) } : undefined;
  const server = { keyPem: text(files.get(p.serverKey)), certPem: text(files.get(p.serverCrt)) };
  const verdict = pki.certificateVerdict({
    desired: {
      commonName: tls.commonName,
      subjectAltNames: tls.subjectAltNames,
      days: tls.days,
      renewBeforeDays: tls.renewBeforeDays,
      // readTls never runs in mode none: the task concerns no host then.
      mode: tls.mode === 'selfsigned' ? 'selfsigned' : 'ca',
    },
    now: new Date(),
    ...(ca ? { ca } : {}),
    server,
  });
  const caRegen = tls.mode === 'ca' && verdict.ca.regenerate;
  const serverRegen = verdict.server.regenerate || caRegen;
  // New keys are made at the same time (OpenSSL's thread pool), not one after the other.
  const [newCaKey, newServerKey] = check
    ? []
    : await Promise.all([
        caRegen ? pki.generateRsaKeyPemAsync(tls.keyBits) : undefined,
        serverRegen ? pki.generateRsaKeyPemAsync(tls.keyBits) : undefined,
      ]);
  return { pki, p, files, dirs, ca, server, verdict, caRegen, serverRegen, newCaKey, newServerKey };
}

/**
 * The master's read, started with the run's first task: facts change no file, so what tls.dir
 * holds is the same then as when tls starts, and on a first apply the two RSA keys (the longest
 * part of the task) are made while the hosts run their facts.
 */
const ahead = aheadSlot<Awaited<ReturnType<typeof readTls>>>();

export const tlsTask: TaskDef<Shared, RunStage<Shared>> = {
  id: 'tls',
  readAhead: (run, conn) => ahead.start(run, conn.hostName, readTls(run.playbook, conn, run.check)),
  stages: [
    {
      // tls.mode none: no certificate, so no host this task concerns.
      hosts: (run) => (run.playbook.tls.mode === 'none' ? [] : [masterName(run)]),
      async run(ctx: Ctx) {
        const { tls } = ctx.run.playbook;
        const { pki, p, files, dirs, ca, server, verdict, caRegen, serverRegen, newCaKey, newServerKey } =
          await (ahead.take(ctx.run, ctx.host.name) ?? readTls(ctx.run.playbook, ctx.conn, ctx.run.check));

        const changes: Change[] = [];
        // The CA pair and the server pair are written side by side, each key before its
        // certificate; each key's write makes the files' directory if it is missing.
        const caSteps: Step[] = [];
        const serverSteps: Step[] = [];
        let caPem = ca?.certPem;
        let caKeyPem = ca?.keyPem;
        if (caRegen) {
          changes.push({ what: p.caCrt, why: verdict.ca.reasons.join('; ') });
          if (!ctx.run.check) {
            const made = pki.createCa({
              commonName: tls.commonName,
              subjectAltNames: tls.subjectAltNames,
              days: tls.days,
              keyBits: tls.keyBits,
              ...(newCaKey ? { keyPem: newCaKey } : {}),
            });
            caPem = made.certPem;
            caKeyPem = made.keyPem;
            caSteps.push(
              {
                kind: 'write',
                describe: `write ${p.caKey}`,
                path: p.caKey,
                data: made.keyPem,
                mode: KEY_MODE,
                dirMode: PRIVATE_DIR_MODE,
              },
              {
                kind: 'write',
                describe: `write ${p.caCrt}`,
                path: p.caCrt,
                data: made.certPem,
                mode: CERT_MODE,
              },
            );
          }
        }
        let serverPem = server.certPem;
        if (serverRegen) {
          const reasons = verdict.server.reasons.length ? verdict.server.reasons : ['the CA is regenerated'];
          const to = `SAN ${tls.subjectAltNames.join(', ')}; valid ${tls.days} days`;
          const from = describeCert(verdict.current);
          changes.push({ what: p.serverCrt, ...(from ? { from } : {}), to, why: reasons.join('; ') });
          if (!ctx.run.check) {
            const made = pki.createServerCert({
              commonName: tls.commonName,
              subjectAltNames: tls.subjectAltNames,
              days: tls.days,
              keyBits: tls.keyBits,
              ...(newServerKey ? { keyPem: newServerKey } : {}),
              ...(tls.mode === 'ca' ? { ca: { keyPem: caKeyPem!, certPem: caPem! } } : {}),
            });
            serverPem = made.certPem;
            // Key first: an interruption between the two leaves a key/cert mismatch, which the
            // next run detects and repairs, never a certificate the key cannot serve.
            serverSteps.push(
              {
                kind: 'write',
                describe: `write ${p.serverKey}`,
                path: p.serverKey,
                data: made.keyPem,
                mode: KEY_MODE,
                dirMode: PRIVATE_DIR_MODE,
              },
              {
                kind: 'write',
                describe: `write ${p.serverCrt}`,
                path: p.serverCrt,
                data: made.certPem,
                mode: CERT_MODE,
              },
            );
          }
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
        const dirFixes = privateDirFixes(dirs);
        changes.unshift(...dirFixes.changes);

        const anchorChanged = tls.mode === 'ca' ? caRegen : serverRegen;
        const anchorPem = tls.mode === 'ca' ? caPem : serverPem;
        const known = !ctx.run.check || !serverRegen;
        ctx.run.shared.tls = {
          ...(anchorPem && (!ctx.run.check || !anchorChanged) ? { anchorPem } : {}),
          anchorChanged,
          ...(known && serverPem ? { serverFingerprint: pki.inspectCert(serverPem).fingerprintSha256 } : {}),
          serverChanged: serverRegen,
        };
        if (changes.length > 0)
          await applySteps(ctx, [
            ...dirFixes.steps,
            ...parallel('write the certificates', [caSteps, serverSteps]),
            ...fixes.steps,
          ]);
        return result(changes);
      },
    },
  ],
};
