import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What an HTTP server logs through (a pino logger fits). */
export interface HttpServerLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** A handler: writes the response, e.g. with {@link sendText}. */
export type HttpHandler = (res: ServerResponse, req: IncomingMessage) => Promise<void> | void;

/** A path's handlers by method (HEAD is served as GET). */
export type HttpMethods = Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', HttpHandler>>;

/** A route: a GET (and HEAD) handler, or handlers by method. */
export type HttpRoute = HttpHandler | HttpMethods;

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * The paths served, by exact path; a key ending in `/*` serves every path below it (the longest
   * such prefix wins; an exact path wins over any prefix). A handler reads the rest from `req.url`.
   */
  routes: Record<string, HttpRoute>;
  logger: HttpServerLogger;
  /** Names the server in its log lines (`<name> listening`, `<name> request failed`). */
  name: string;
}

export interface HttpServer {
  /** Where the server listens (the actual port when 0 was asked). */
  address: { address: string; port: number };
  /** Stops listening and closes open (keep-alive) connections; idempotent. */
  close(): Promise<void>;
}

/** Writes a whole response, never cached. */
export function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

/** The longest `<prefix>/*` key whose prefix `path` is below (`/a/*` serves `/a/b`, not `/a` or `/ab`). */
function longestPrefix(prefixes: readonly string[], path: string): string | undefined {
  let best: string | undefined;
  for (const key of prefixes) {
    if (
      path.startsWith(key.slice(0, -1)) &&
      path.length > key.length - 1 &&
      (best === undefined || key.length > best.length)
    ) {
      best = key;
    }
  }
  return best;
}

/**
 * A small operations HTTP server (node:http) for health, metrics and admin endpoints: the given
 * routes (a function: GET and HEAD; or handlers by method, HEAD served as GET), 405 for another
 * method on a route, 404 elsewhere, 500 when a handler throws. Request and header timeouts are short: nothing served here takes long.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host, port, routes, logger, name } = options;
  const text = 'text/plain; charset=utf-8';
  const prefixes = Object.keys(routes).filter((key) => key.endsWith('/*'));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://ops').pathname;
    const route = Object.hasOwn(routes, path) ? routes[path] : routes[longestPrefix(prefixes, path) ?? ''];
    if (route === undefined) {
      sendText(res, 404, text, 'not found\n');
      return;
    }
    const methods: HttpMethods = typeof route === 'function' ? { GET: route } : route;
    const method = req.method === 'HEAD' ? 'GET' : (req.method as keyof HttpMethods);
    const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (handler === undefined) {
      const allowed = Object.keys(methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      res.setHeader('Allow', allowed.join(', '));
      sendText(res, 405, text, 'method not allowed\n');
    } else {
      await handler(res, req);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, `${name} request failed`);
      if (!res.headersSent) {
        sendText(res, 500, text, 'internal error\n');
      } else {
        res.destroy();
      }
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, `${name} error`));
  const bound = server.address() as AddressInfo;
  const address = { address: bound.address, port: bound.port };
  logger.info({ address }, `${name} listening`);

  let closing: Promise<void> | undefined;
  return {
    address,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
