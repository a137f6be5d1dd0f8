// The web view's HTTP server: loopback only, every URL under the token, the page's three resources,
// a JSON read of the state and a POST that removes a tag. What the answers hold comes from the
// functions it is given, so this file is only about who may ask what.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../core/errors.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';
import { sameOrigin, securityHeaders, tokenMatches } from './security.js';

export interface RemoveRequest {
  repository: string;
  tag: string;
}

export interface UiHandlers {
  /** The whole state as JSON-able data. */
  state(): Promise<unknown>;
  /** Removes a tag; resolves with the lines to log, rejects with a message for the user. */
  remove(req: RemoveRequest): Promise<string[]>;
}

export interface UiServer {
  /** http://127.0.0.1:PORT/TOKEN/ */
  url: string;
  server: Server;
  /** Stops listening and waits for a removal in flight, whose lock release needs the connection. */
  close(): Promise<void>;
}

const MAX_BODY = 4096;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...securityHeaders(type), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function parseRemove(body: string): RemoveRequest | undefined {
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const { repository, tag } = v as Record<string, unknown>;
    if (typeof repository !== 'string' || typeof tag !== 'string') return undefined;
    return { repository, tag };
  } catch {
    return undefined;
  }
}

/**
 * Listens on 127.0.0.1 (port 0: any free one). A request whose first path segment is not the token
 * gets 403 and nothing else, whatever it asks for; so does one naming another Host (a DNS name
 * rebound to the loopback address).
 */
export async function startUiServer(token: string, handlers: UiHandlers, port = 0): Promise<UiServer> {
  let ownHost = '';
  let ownOrigin = '';
  // One read at a time: a second Refresh while one runs shares its answer.
  let reading: Promise<unknown> | undefined;
  // One removal at a time, in the order asked: each takes the deploy lock for itself.
  let removing: Promise<unknown> = Promise.resolve();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, first, ...rest] = url.pathname.split('/');
    if (req.headers.host !== ownHost || !tokenMatches(first, token)) {
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
      return;
    }
    const route = `${req.method ?? 'GET'} /${rest.join('/')}`;
    switch (route) {
      case 'GET /':
        return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case 'GET /app.css':
        return send(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
      case 'GET /app.js':
        return send(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
      case 'GET /api/state': {
        reading ??= handlers.state().finally(() => (reading = undefined));
        try {
          return json(res, 200, await reading);
        } catch (err) {
          return json(res, 500, { error: (err as Error).message });
        }
      }
      case 'POST /api/rm': {
        if (!sameOrigin(req.headers, ownOrigin))
          return json(res, 403, { error: 'cross-origin request refused' });
        // A JSON body needs a preflight from any other origin, which this server never answers.
        if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
          return json(res, 415, { error: 'send application/json' });
        const target = parseRemove(await readBody(req));
        if (!target) return json(res, 400, { error: 'give {"repository": …, "tag": …}' });
        const done = removing.then(() => handlers.remove(target));
        removing = done.catch(() => undefined);
        try {
          return json(res, 200, { lines: await done });
        } catch (err) {
          return json(res, 409, { error: (err as Error).message });
        }
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    // A port in use (or one below 1024 without the right) is the user's to change.
    server.once('error', (err) =>
      reject(new UsageError(`cannot listen on 127.0.0.1:${port}: ${err.message}`)),
    );
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  ownHost = `127.0.0.1:${bound}`;
  ownOrigin = `http://${ownHost}`;
  return {
    url: `${ownOrigin}/${token}/`,
    server,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await removing;
    },
  };
}
