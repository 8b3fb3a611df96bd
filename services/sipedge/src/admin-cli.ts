/**
 * `sipedge admin …`: the admin API of a running fleet from the command line, over HTTP to an
 * edge's ops port (services/edge/src/admin.ts), authenticated with the bearer token in
 * SIPEDGE_ADMIN_TOKEN (never on the command line, where other users of the host would see it).
 */
import { parseArgs } from 'node:util';

export const ADMIN_USAGE = `Usage: sipedge admin bans [list]
       sipedge admin bans add ADDRESS [--seconds N] [--reason TEXT]
       sipedge admin bans lift ADDRESS
       sipedge admin registrations [list] [--match TEXT] [--limit N]
       sipedge admin registrations remove AOR [--contact KEY]
       sipedge admin calls [--limit N]
       sipedge admin drain

Options:
  --url URL      an edge's ops port (default: SIPEDGE_ADMIN_URL, else http://127.0.0.1:8080)
  -h, --help     print this help

The bearer token comes from SIPEDGE_ADMIN_TOKEN (the admin.token setting of the edges).
Bans hold on every edge and worker of the fleet; trusted sources are never banned.
Registrations are the fleet's location service: a removed contact is no longer called.
drain drains the edge whose ops port --url names, as SIGTERM does, without stopping it.
`;

/** What a run printed and its exit code (0 done, 1 refused or failed, 2 usage error). */
export interface AdminResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string> },
) => Promise<{
  status: number;
  text(): Promise<string>;
}>;

const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Runs `sipedge admin <argv>` against the admin API. */
export async function runAdmin(argv: readonly string[], env: NodeJS.ProcessEnv, fetch: Fetch): Promise<AdminResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        seconds: { type: 'string' },
        reason: { type: 'string' },
        match: { type: 'string' },
        limit: { type: 'string' },
        contact: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { exitCode: 0, stdout: ADMIN_USAGE, stderr: '' };
  const [topic, action, argument, ...extra] = positionals;
  if (extra.length > 0) return usage(`unexpected ${extra.map((e) => `"${e}"`).join(' ')}`);
  const request = requestOf(topic, action, argument, values);
  if (typeof request === 'string') return usage(request);
  const token = env['SIPEDGE_ADMIN_TOKEN'];
  if (token === undefined || token === '') return usage('SIPEDGE_ADMIN_TOKEN is not set');
  const base = (values.url ?? env['SIPEDGE_ADMIN_URL'] ?? DEFAULT_URL).replace(/\/+$/, '');
  const { method, path, query, table } = request;
  const url = `${base}${path}${query.size > 0 ? `?${query}` : ''}`;
  let response;
  try {
    response = await fetch(url, { method, headers: { Authorization: `Bearer ${token}` } });
  } catch (error) {
    return { exitCode: 1, stdout: '', stderr: `sipedge admin: ${base}: ${(error as Error).message}\n` };
  }
  const body = await response.text();
  if (response.status >= 300) {
    return { exitCode: 1, stdout: '', stderr: `sipedge admin: ${method} ${url}: ${response.status} ${body}` };
  }
  return { exitCode: 0, stdout: table === undefined ? body : table(body), stderr: '' };
}

/** One admin API request a command line stands for. */
interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Prints the answer as a table (a list); without it the JSON is printed as it came. */
  table?: (body: string) => string;
}

type Values = { seconds?: string; reason?: string; match?: string; limit?: string; contact?: string };

/** The request for `topic action argument`, or what is wrong with them. */
function requestOf(
  topic: string | undefined,
  action: string | undefined,
  argument: string | undefined,
  values: Values,
): AdminRequest | string {
  const query = new URLSearchParams();
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) query.set(name, value);
  };
  switch (topic) {
    case 'bans':
      if (action === undefined || action === 'list') {
        if (argument !== undefined) return 'list takes no address';
        return { method: 'GET', path: '/admin/bans', query, table: banTable };
      }
      if (action !== 'add' && action !== 'lift') return `unknown action "${action}" (expected list, add or lift)`;
      if (argument === undefined) return `${action} needs an ADDRESS`;
      set('address', argument);
      if (action === 'add') {
        set('seconds', values.seconds);
        set('reason', values.reason);
      }
      return { method: action === 'add' ? 'POST' : 'DELETE', path: '/admin/bans', query };
    case 'registrations':
      if (action === undefined || action === 'list') {
        if (argument !== undefined) return 'list takes no AOR (use --match)';
        set('match', values.match);
        set('limit', values.limit);
        return { method: 'GET', path: '/admin/registrations', query, table: registrationTable };
      }
      if (action !== 'remove') return `unknown action "${action}" (expected list or remove)`;
      if (argument === undefined) return 'remove needs an AOR';
      set('aor', argument);
      set('contact', values.contact);
      return { method: 'DELETE', path: '/admin/registrations', query };
    case 'calls':
      if (action !== undefined && action !== 'list') return `unknown action "${action}" (expected list)`;
      if (argument !== undefined) return 'calls takes no argument';
      set('limit', values.limit);
      return { method: 'GET', path: '/admin/calls', query, table: callTable };
    case 'drain':
      if (action !== undefined) return 'drain takes no action';
      return { method: 'POST', path: '/admin/drain', query };
    default:
      return topic === undefined
        ? 'expected "bans", "registrations", "calls" or "drain"'
        : `unknown topic "${topic}" (expected bans, registrations, calls or drain)`;
  }
}

function usage(message: string): AdminResult {
  return { exitCode: 2, stdout: '', stderr: `sipedge admin: ${message}\n\n${ADMIN_USAGE}` };
}

/** The ban list as a table: address, until (ISO time), reason. */
function banTable(body: string): string {
  const { bans } = JSON.parse(body) as { bans: { address: string; until: number; reason: string }[] };
  if (bans.length === 0) return 'no bans\n';
  const width = Math.max(...bans.map((b) => b.address.length), 'ADDRESS'.length);
  const lines = bans.map((b) => `${b.address.padEnd(width)}  ${new Date(b.until).toISOString()}  ${b.reason}`);
  return `${'ADDRESS'.padEnd(width)}  ${'UNTIL'.padEnd(24)}  REASON\n${lines.join('\n')}\n`;
}

/** The live calls as a table: when each started, caller, callee, Call-ID; then how many there are. */
function callTable(body: string): string {
  const { total, calls } = JSON.parse(body) as {
    total: number;
    calls: { callId: string; caller: string; callee: string; startedAt: string }[];
  };
  const rows = calls.map((c) => [c.startedAt, c.caller, c.callee, c.callId]);
  return `${table(['STARTED', 'CALLER', 'CALLEE', 'CALL-ID'], rows)}${total} live call${total === 1 ? '' : 's'}\n`;
}

/** The registrations as a table: one line per contact (AOR, contact, expiry, edge). */
function registrationTable(body: string): string {
  const { registrations, truncated } = JSON.parse(body) as {
    registrations: { aor: string; contacts: { contact: string; expiresAt: string; edgeId?: string }[] }[];
    truncated: boolean;
  };
  const rows = registrations.flatMap((r) => r.contacts.map((c) => [r.aor, c.contact, c.expiresAt, c.edgeId ?? '-']));
  if (rows.length === 0) return 'no registrations\n';
  const more = truncated ? '(more registrations exist: narrow with --match or raise --limit)\n' : '';
  return `${table(['AOR', 'CONTACT', 'EXPIRES', 'EDGE'], rows)}${more}`;
}

/** Rows under a header, each column as wide as its widest cell, two spaces apart; nothing without rows. */
function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
