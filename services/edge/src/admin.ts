import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Ban, canonicalAddress } from '@sipedge/abuse';
import { type HttpHandler, type HttpRoute, sendText } from '@sipedge/net';
import type { Binding, CaptureStore, DialogStore, RegistrationList, RegistrationQuery } from '@sipedge/store';

/** The ban list as the admin API manages it (`Bans` of `@sipedge/abuse`). */
export interface BanAdmin {
  list(now: number): Promise<Ban[]>;
  ban(address: string, reason: string, now: number, durationMs?: number): Promise<Ban | undefined>;
  lift(address: string): Promise<boolean>;
}

/** The location service as the admin API reads and changes it (`LocationStore` of `@sipedge/store`). */
export interface RegistrationAdmin {
  list(query: RegistrationQuery, now: number): Promise<RegistrationList>;
  lookup(aor: string, now: number): Promise<Binding[]>;
  remove(aor: string, uriKeys: readonly string[]): Promise<void>;
}

export interface AdminOptions {
  /** The bearer token every request must carry (`Authorization: Bearer <token>`). */
  token: string;
  bans: BanAdmin;
  registrations: RegistrationAdmin;
  /** The fleet's live dialogs (`DialogStore` of `@sipedge/store`). */
  dialogs: Pick<DialogStore, 'list'>;
  /** Captured messages of recent calls (the call-flow page). */
  captures: Pick<CaptureStore, 'calls' | 'messages'>;
  /** Starts this edge's drain (readiness false, new calls refused); the process goes on running. */
  drain: () => void;
}

/** The shortest admin token accepted. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_BAN_SECONDS = 366 * 24 * 3600;
const DEFAULT_LIST_LIMIT = 100;
/** Recorded calls a search of the call-flow page looks through (the most recent). */
const CAPTURE_SEARCHED = 1000;
const MAX_LIST_LIMIT = 1000;

/**
 * The admin API on the ops port (never on the SIP ports), every request authenticated with the
 * bearer token (compared in constant time; 401 otherwise):
 *
 * - `GET /admin/bans`: the fleet's bans in force, as JSON `{ bans: Ban[] }`;
 * - `POST /admin/bans?address=A[&seconds=N][&reason=TEXT]`: bans A fleet-wide (201 with the ban;
 *   409 for a trusted source, which is never banned; 400 for a bad address or duration);
 * - `DELETE /admin/bans?address=A`: lifts A's ban fleet-wide (200, or 404 when it had none);
 * - `GET /admin/registrations[?match=TEXT][&limit=N]`: the fleet's registrations whose AOR contains
 *   TEXT (at most N, default 100, up to 1000), each contact with its expiry and how it is reached
 *   (`{ registrations: [{ aor, contacts }], truncated }`);
 * - `DELETE /admin/registrations?aor=AOR[&contact=KEY]`: removes the AOR's bindings (or the one
 *   whose contact key is KEY) from the location service: calls no longer reach them (200 with the
 *   keys removed, 404 when there was none);
 * - `GET /admin/calls[?limit=N]`: the fleet's live calls (dialogs confirmed and not yet ended by a
 *   BYE), the N most recent (default 100, up to 1000) and how many there are (`{ total, calls }`);
 * - `GET /admin/capture/calls[?match=TEXT][&status=N][&limit=N]`: the recorded calls whose Call-ID,
 *   From or To contains TEXT (without case) and whose first request ended with status N, latest
 *   first (`{ calls }`; the call-flow page at `/calls` reads it);
 * - `GET /admin/capture/calls/<Call-ID>`: one recorded call's messages in time order (`{ callId,
 *   messages }`; 404 when it is not recorded);
 * - `POST /admin/drain`: this edge drains as on SIGTERM (202): readiness turns false and new calls
 *   are refused with 503, in-flight work goes on.
 */
export function adminRoutes(options: AdminOptions): Record<string, HttpRoute> {
  const authorized = bearerCheck(options.token);
  const guarded =
    (handler: (res: ServerResponse, query: URLSearchParams, req: IncomingMessage) => Promise<void>): HttpHandler =>
    async (res, req) => {
      if (!authorized(req)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="sipedge admin"');
        sendJson(res, 401, { error: 'a valid bearer token is required' });
        return;
      }
      await handler(res, new URL(req.url ?? '/', 'http://ops').searchParams, req);
    };
  const { bans, registrations } = options;
  return {
    '/admin/registrations': {
      GET: guarded(async (res, query) => {
        const limit = listLimit(res, query);
        if (limit === undefined) return;
        const match = query.get('match') ?? undefined;
        const list = await registrations.list({ limit, ...(match === undefined ? {} : { match }) }, Date.now());
        sendJson(res, 200, {
          registrations: list.registrations.map(({ aor, bindings }) => ({ aor, contacts: bindings.map(contactOf) })),
          truncated: list.truncated,
        });
      }),
      DELETE: guarded(async (res, query) => {
        const aor = query.get('aor') ?? '';
        if (aor === '') {
          sendJson(res, 400, { error: 'aor: expected the address of record, e.g. sip:alice@example.com' });
          return;
        }
        const contact = query.get('contact');
        const keys = (await registrations.lookup(aor, Date.now()))
          .map((b) => b.uriKey)
          .filter((key) => contact === null || key === contact);
        if (keys.length === 0) {
          sendJson(res, 404, { error: `${aor} has no ${contact === null ? 'registration' : `contact ${contact}`}` });
          return;
        }
        await registrations.remove(aor, keys);
        sendJson(res, 200, { aor, removed: keys });
      }),
    },
    '/admin/calls': {
      GET: guarded(async (res, query) => {
        const limit = listLimit(res, query);
        if (limit === undefined) return;
        const { total, dialogs } = await options.dialogs.list(limit, Date.now());
        sendJson(res, 200, {
          total,
          calls: dialogs.map((d) => ({ ...d, startedAt: new Date(d.startedAt).toISOString() })),
        });
      }),
    },
    '/admin/capture/calls': {
      GET: guarded(async (res, query) => {
        const limit = limitOf(query);
        const status = query.get('status') === null ? undefined : Number(query.get('status'));
        if (
          limit === undefined ||
          (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 699))
        ) {
          sendJson(res, 400, { error: `limit: 1 to ${MAX_LIST_LIMIT}; status: a SIP status code` });
          return;
        }
        const match = query.get('match')?.toLowerCase();
        // The most recent calls the store keeps, filtered here: a bounded read (CaptureStore).
        const calls = (await options.captures.calls(CAPTURE_SEARCHED, Date.now()))
          .filter((c) => status === undefined || c.status === status)
          .filter(
            (c) =>
              match === undefined || [c.callId, c.from ?? '', c.to ?? ''].some((v) => v.toLowerCase().includes(match)),
          )
          .slice(0, limit)
          .map((c) => ({ ...c, startedAt: iso(c.startedAt), lastAt: iso(c.lastAt) }));
        sendJson(res, 200, { calls });
      }),
    },
    '/admin/capture/calls/*': {
      GET: guarded(async (res, _query, req) => {
        const path = new URL(req.url ?? '/', 'http://ops').pathname;
        let callId: string;
        try {
          callId = decodeURIComponent(path.slice('/admin/capture/calls/'.length));
        } catch {
          sendJson(res, 400, { error: 'the Call-ID is not a valid percent-encoded path segment' });
          return;
        }
        const messages = await options.captures.messages(callId);
        if (messages.length === 0) {
          sendJson(res, 404, { error: `call ${callId} is not recorded` });
          return;
        }
        const firstLine = (text: string) => text.slice(0, text.search(/\r?\n|$/));
        sendJson(res, 200, {
          callId,
          messages: messages.map((m) => ({ ...m, at: iso(m.at), firstLine: firstLine(m.text) })),
        });
      }),
    },
    '/admin/drain': {
      POST: guarded(async (res) => {
        options.drain();
        sendJson(res, 202, { draining: true });
      }),
    },
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

/** Epoch ms as an ISO 8601 time (milliseconds kept). */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The `limit` query parameter: DEFAULT_LIST_LIMIT when absent, undefined when not 1…MAX_LIST_LIMIT. */
function limitOf(query: URLSearchParams): number | undefined {
  const limit = query.get('limit') === null ? DEFAULT_LIST_LIMIT : Number(query.get('limit'));
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIST_LIMIT ? limit : undefined;
}

/** The `limit` query parameter (limitOf); undefined once a 400 has told the client it is not usable. */
function listLimit(res: ServerResponse, query: URLSearchParams): number | undefined {
  const limit = limitOf(query);
  if (limit === undefined) sendJson(res, 400, { error: `limit: expected a whole number from 1 to ${MAX_LIST_LIMIT}` });
  return limit;
}

/** A binding as the admin API shows it: the contact, its key, its expiry and the registrar's data. */
function contactOf(binding: Binding): Record<string, unknown> {
  let data: unknown = {};
  try {
    data = JSON.parse(binding.data);
  } catch {
    // Not the registrar's JSON: shown without it.
  }
  return {
    contact: binding.contact,
    key: binding.uriKey,
    expiresAt: new Date(binding.expiresAt).toISOString(),
    q: binding.q,
    ...(typeof data === 'object' && data !== null ? data : {}),
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
