/** The command line: `sipedge [all|edge|worker] [--config FILE]`, or `sipedge admin …` (admin-cli.ts). */
import { parseArgs } from 'node:util';
import { ROLES, type Role } from './roles.js';

export const USAGE = `Usage: sipedge [all|edge|worker] [--config FILE]
       sipedge admin bans [list|add ADDRESS|lift ADDRESS] [--url URL]   (sipedge admin --help)

Roles:
  all     an edge and a worker in one process (the default). Without REDIS_URL and NATS_URL
          on in-memory state (nothing survives a restart); with both on Redis and NATS.
  edge    the SIP edge: sockets, protection, hand-off to workers (needs REDIS_URL, NATS_URL)
  worker  a transaction worker: proxy, registrar, authentication (needs REDIS_URL, NATS_URL)

Options:
  -c, --config FILE  YAML configuration file; environment variables override its settings
  -h, --help         print this help

Settings: docs/configuration.md
`;

export type Command =
  | { kind: 'run'; role: Role; configFile?: string }
  | { kind: 'admin'; args: string[] }
  | { kind: 'help' }
  | { kind: 'usage-error'; message: string };

export function parseCommandLine(argv: readonly string[]): Command {
  if (argv[0] === 'admin') return { kind: 'admin', args: argv.slice(1) };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return { kind: 'usage-error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (positionals.length > 1) {
    return { kind: 'usage-error', message: `expected one role, got ${positionals.map((p) => `"${p}"`).join(' ')}` };
  }
  const role = positionals[0] ?? 'all';
  if (!isRole(role)) return { kind: 'usage-error', message: `unknown role "${role}" (expected ${ROLES.join(', ')})` };
  if (values.config === '') return { kind: 'usage-error', message: '--config: expected a file name' };
  return values.config === undefined ? { kind: 'run', role } : { kind: 'run', role, configFile: values.config };
}

function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}
