import { TaskFailure } from '../core/task.js';
import { factsCmd, parseFacts } from '../facts/os.js';
import type { RunStage, TaskDef } from '../engine/context.js';
import type { Shared } from './shared.js';

const SUDO_PASSWORD = /a password is required|a terminal is required|no tty present/i;

export const factsTask: TaskDef<Shared, RunStage<Shared>> = {
  id: 'facts',
  always: true,
  stages: [
    {
      hosts: (run) => run.inventory.hosts.map((h) => h.name),
      async run(ctx) {
        const r = await ctx.conn.exec(factsCmd());
        if (r.code !== 0) {
          if (ctx.host.become === 'sudo' && SUDO_PASSWORD.test(r.stderr)) {
            throw new TaskFailure(
              `sudo on ${ctx.host.name} asks for a password; regbook needs passwordless sudo for ${ctx.host.user} ` +
                `(a NOPASSWD rule in /etc/sudoers.d)`,
            );
          }
          throw new TaskFailure(`gathering facts failed (exit ${r.code}): ${r.stderr.trim()}`);
        }
        const facts = parseFacts(r.stdout);
        if (!facts.privileged) {
          throw new TaskFailure(
            `${ctx.host.user} is not root on ${ctx.host.name}; set become: sudo in the inventory`,
          );
        }
        if (!facts.dockerPresent) throw new TaskFailure(`docker is not installed on ${ctx.host.name}`);
        if (!facts.dockerRunning) {
          throw new TaskFailure(
            `docker is installed but not running on ${ctx.host.name} (docker images cannot reach the daemon)`,
          );
        }
        ctx.run.facts.set(ctx.host.name, facts);
        return {
          status: 'ok',
          changes: [],
          message: `${facts.osId} ${facts.osVersion}, docker running`,
        };
      },
    },
  ],
};
