import type { EngineEvent } from '../engine/events.js';
import type { Redact } from './format.js';

/**
 * `--output json`: one JSON object per line on stdout. Only finished tasks (an unreachable host is
 * a task result too), handler runs and the recap are written; progress events are for live views.
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
      case 'recap':
        w(e);
        break;
      default:
        break;
    }
  };
}
