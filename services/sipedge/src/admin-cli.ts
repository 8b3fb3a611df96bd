/**
 * `sipedge admin …`: the admin API of a running fleet from the command line, over HTTP to an
 * edge's ops port (services/edge/src/admin.ts), authenticated with the bearer token in
 * SIPEDGE_ADMIN_TOKEN (never on the command line, where other users of the host would see it).
 */
import { parseArgs } from 'node:util';

export const ADMIN_USAGE = `Usage: sipedge admin bans [list]
       sipedge admin bans add ADDRESS [--seconds N] [--reason TEXT]
       sipedge admin bans lift ADDRESS

Options:
  --url URL      an edge's ops port (default: SIPEDGE_ADMIN_URL, else http://127.0.0.1:8080)
  -h, --help     print this help

The bearer token comes from SIPEDGE_ADMIN_TOKEN (the admin.token setting of the edges).
Bans hold on every edge and worker of the fleet; trusted sources are never banned.
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
  const [topic, action = 'list', address, ...extra] = positionals;
  if (topic !== 'bans') return usage(topic === undefined ? 'expected "bans"' : `unknown topic "${topic}"`);
  if (extra.length > 0) return usage(`unexpected ${extra.map((e) => `"${e}"`).join(' ')}`);
  const token = env['SIPEDGE_ADMIN_TOKEN'];
  if (token === undefined || token === '') return usage('SIPEDGE_ADMIN_TOKEN is not set');
  const base = (values.url ?? env['SIPEDGE_ADMIN_URL'] ?? DEFAULT_URL).replace(/\/+$/, '');
  const query = new URLSearchParams();
  let method: string;
  if (action === 'list') {
    if (address !== undefined) return usage('list takes no address');
    method = 'GET';
  } else if (action === 'add' || action === 'lift') {
    if (address === undefined) return usage(`${action} needs an ADDRESS`);
    query.set('address', address);
    if (action === 'add') {
      if (values.seconds !== undefined) query.set('seconds', values.seconds);
      if (values.reason !== undefined) query.set('reason', values.reason);
    }
    method = action === 'add' ? 'POST' : 'DELETE';
  } else {
    return usage(`unknown action "${action}" (expected list, add or lift)`);
  }
  const url = `${base}/admin/bans${query.size > 0 ? `?${query}` : ''}`;
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
  return { exitCode: 0, stdout: action === 'list' ? banTable(body) : body, stderr: '' };
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
