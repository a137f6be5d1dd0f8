import type { EngineEvent } from '../engine/events.js';
import type { Redact } from './format.js';

/**
 * `--output json`: one JSON object per line on stdout: finished tasks (an unreachable host is a
 * task result too), the step each host starts (`progress`), handler runs, a signal that stops the
 * run (`interrupt`) and the recap, last. Connection and task-start events are for live views.
 */
export function ndjsonRenderer(out: NodeJS.WritableStream, redact: Redact) {
  // Masked value by value: masking the serialised line would miss a secret whose quotes or
  // backslashes JSON escapes.
  const w = (obj: unknown) =>
    out.write(JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'string' ? redact(v) : v)) + '\n');
  return (e: EngineEvent) => {
    switch (e.type) {
      case 'task':
      case 'handler':
      case 'progress':
      case 'interrupt':
      case 'recap':
        w(e);
        break;
      default:
        break;
    }
  };
}
