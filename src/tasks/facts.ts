import type { HostFacts } from '../core/task.js';
import { TaskFailure } from '../core/task.js';
import { readHostFacts } from '../facts/os.js';
import type { PlannedStage, TaskDef } from '../engine/context.js';
import type { Shared } from './shared.js';

const SUDO_PASSWORD = /a password is required|a terminal is required|no tty present/i;

/**
 * The host's facts in one round trip. The run keeps them (`run.facts`) as soon as they are read:
 * later tasks choose their hosts and files by them, and a reader of the run (status) shows them
 * for a host the plan then fails too.
 */
export const factsStage: PlannedStage<Shared, HostFacts> = {
  hosts: (run) => run.inventory.hosts.map((h) => h.name),
  async gather({ conn, host, run }) {
    const { exec: r, facts } = await readHostFacts(conn);
    if (!facts) {
      if (host.become === 'sudo' && SUDO_PASSWORD.test(r.stderr)) {
        throw new TaskFailure(
          `sudo on ${host.name} asks for a password; regbook needs passwordless sudo for ${host.user} ` +
            `(a NOPASSWD rule in /etc/sudoers.d)`,
        );
      }
      throw new TaskFailure(`gathering facts failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    run.facts.set(host.name, facts);
    return facts;
  },
  plan(facts, { host }) {
    if (!facts.privileged) {
      throw new TaskFailure(`${host.user} is not root on ${host.name}; set become: sudo in the inventory`);
    }
    if (!facts.dockerPresent) throw new TaskFailure(`docker is not installed on ${host.name}`);
    if (!facts.dockerRunning) {
      throw new TaskFailure(
        `docker is installed but not running on ${host.name} (its engine API does not answer)`,
      );
    }
    return { changes: [], steps: [], message: `${facts.osId} ${facts.osVersion}, docker running` };
  },
};

export const factsTask: TaskDef<Shared> = { id: 'facts', always: true, stages: [factsStage] };
