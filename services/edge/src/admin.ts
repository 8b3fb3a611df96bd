import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Ban, canonicalAddress } from '@sipedge/abuse';
import { type HttpHandler, type HttpRoute, sendText } from '@sipedge/net';

/** The ban list as the admin API manages it (`Bans` of `@sipedge/abuse`). */
export interface BanAdmin {
  list(now: number): Promise<Ban[]>;
  ban(address: string, reason: string, now: number, durationMs?: number): Promise<Ban | undefined>;
  lift(address: string): Promise<boolean>;
}

export interface AdminOptions {
  /** The bearer token every request must carry (`Authorization: Bearer <token>`). */
  token: string;
  bans: BanAdmin;
}

/** The shortest admin token accepted. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_BAN_SECONDS = 366 * 24 * 3600;

/**
 * The admin API on the ops port (never on the SIP ports), every request authenticated with the
 * bearer token (compared in constant time; 401 otherwise):
 *
 * - `GET /admin/bans`: the fleet's bans in force, as JSON `{ bans: Ban[] }`;
 * - `POST /admin/bans?address=A[&seconds=N][&reason=TEXT]`: bans A fleet-wide (201 with the ban;
 *   409 for a trusted source, which is never banned; 400 for a bad address or duration);
 * - `DELETE /admin/bans?address=A`: lifts A's ban fleet-wide (200, or 404 when it had none).
 */
export function adminRoutes(options: AdminOptions): Record<string, HttpRoute> {
  const authorized = bearerCheck(options.token);
  const guarded =
    (handler: (res: ServerResponse, query: URLSearchParams) => Promise<void>): HttpHandler =>
    async (res, req) => {
      if (!authorized(req)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="sipedge admin"');
        sendJson(res, 401, { error: 'a valid bearer token is required' });
        return;
      }
      await handler(res, new URL(req.url ?? '/', 'http://ops').searchParams);
    };
  const { bans } = options;
  return {
    '/admin/bans': {
      GET: guarded(async (res) => sendJson(res, 200, { bans: await bans.list(Date.now()) })),
      POST: guarded(async (res, query) => {
        const address = query.get('address') ?? '';
        const seconds = query.get('seconds');
        const duration = seconds === null ? undefined : Number(seconds);
        if (duration !== undefined && !(Number.isInteger(duration) && duration > 0 && duration <= MAX_BAN_SECONDS)) {
          sendJson(res, 400, { error: `seconds: expected a whole number from 1 to ${MAX_BAN_SECONDS}` });
          return;
        }
        if (!isAddress(address)) {
          sendJson(res, 400, { error: 'address: expected an IPv4 or IPv6 address' });
          return;
        }
        const reason = query.get('reason') ?? 'admin';
        const ban = await bans.ban(address, reason, Date.now(), duration === undefined ? undefined : duration * 1000);
        if (ban === undefined) sendJson(res, 409, { error: `${address} is trusted: never banned` });
        else sendJson(res, 201, { ban });
      }),
      DELETE: guarded(async (res, query) => {
        const address = query.get('address') ?? '';
        if (!isAddress(address)) {
          sendJson(res, 400, { error: 'address: expected an IPv4 or IPv6 address' });
          return;
        }
        const lifted = await bans.lift(address);
        sendJson(res, lifted ? 200 : 404, lifted ? { lifted: address } : { error: `${address} is not banned` });
      }),
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON_TYPE, `${JSON.stringify(body)}\n`);
}

/** Constant-time comparison of the request's bearer token with ours (both hashed: equal lengths). */
function bearerCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = createHash('sha256').update(token, 'utf8').digest();
  return (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer +(\S+)$/i.exec(header);
    const given = createHash('sha256')
      .update(match?.[1] ?? '', 'utf8')
      .digest();
    return match !== null && timingSafeEqual(given, expected);
  };
}

function isAddress(text: string): boolean {
  return canonicalAddress(text) !== undefined;
}
