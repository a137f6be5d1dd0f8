// The trust task: every host of trust.hosts trusts the registry (docker's certs.d, containerd's
// hosts directory, podman's certs.d, the OS store when trust.system), or, in tls.mode none, accepts
// it over plain HTTP; the hosts outside trust.hosts lose what regbook wrote there for it. The
// gather reads (src/facts/), the plan decides (trust/plan.ts), the engine applies; a docker
// restart the plan asks for is the restart-docker handler's (trust/restart.ts), rolling across
// the run's hosts once each host is done with the task.
import type { GatherContext, PlannedStage, TaskDef } from '../engine/context.js';
import { takeEarly } from '../engine/early.js';
import { planInput } from '../engine/run.js';
import { readDockerState } from '../facts/docker-state.js';
import { probeTrust, type TrustProbe } from '../facts/trust.js';
import { ensureTlsKnown } from './api.js';
import { masterName, type Shared } from './shared.js';
import { candidateFiles } from './trust/files.js';
import { dockerNeeded, filesFor, planTrust, type TrustFacts } from './trust/plan.js';

async function gatherTrust(ctx: GatherContext<Shared>, wanted: boolean): Promise<TrustFacts> {
  const { run, host } = ctx;
  const { osFamily, osId } = run.facts.get(host.name)!;
  const os = { osFamily, osId };
  const files = filesFor(run.playbook, wanted, os);
  // The anchor this host is to trust, when tls did not run in this invocation.
  await ensureTlsKnown(run);
  const early = wanted ? takeEarly<TrustProbe, Shared>(run, 'trust', host.name) : undefined;
  // On the master, tls may just have written a file trust reads (a tls.dir of
  // /etc/docker/certs.d/<address>): there a read-ahead counts only when tls wrote nothing. What
  // tls made is known once its steps wrote it (never in check mode).
  const tls = run.shared.tls;
  const tlsWrote =
    host.name === masterName(run) &&
    ((tls?.anchorChanged && tls.anchorPem?.known) || (tls?.serverChanged && tls.serverFingerprint?.known));
  const probe = await ((!tlsWrote && early) || probeTrust(ctx.conn, files));
  const facts: TrustFacts = { wanted, os, probe };
  // The daemon's containers and insecure registries, only where the plan will speak of them.
  if (dockerNeeded(facts, planInput(run, host))) facts.docker = await readDockerState(ctx.conn);
  return facts;
}

export const trustStage: PlannedStage<Shared, TrustFacts> = {
  hosts: (run) => run.playbook.trust.hosts,
  gather: (ctx) => gatherTrust(ctx, true),
  plan: planTrust,
};

/**
 * Hosts of the inventory outside trust.hosts that still hold what regbook wrote there for trust:
 * they lose it (the facts tell which, so the others are not reported).
 */
export const leftoverStage: PlannedStage<Shared, TrustFacts> = {
  hosts: (run) =>
    run.inventory.hosts
      .map((h) => h.name)
      .filter((n) => !run.playbook.trust.hosts.includes(n) && run.facts.get(n)?.trustLeftovers),
  gather: (ctx) => gatherTrust(ctx, false),
  plan: planTrust,
};

export const trustTask: TaskDef<Shared, PlannedStage<Shared, TrustFacts>> = {
  id: 'trust',
  // Nothing before trust writes what it reads on a worker, so each host's probe starts with its
  // facts (both OS families' paths: the facts do not tell which yet).
  readAhead: (run, conn) => probeTrust(conn, candidateFiles(run.playbook)),
  stages: [trustStage, leftoverStage],
};

export { trustFiles, wantedRecord, type TrustFile } from './trust/files.js';
export { RESTART_DOCKER, restartDockerHandler } from './trust/restart.js';
