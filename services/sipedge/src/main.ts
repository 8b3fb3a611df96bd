#!/usr/bin/env node
/**
 * The sipedge executable: `sipedge [all|edge|worker] [--config FILE]` (`npm start` is `sipedge
 * all`), and `sipedge admin …` against a running fleet's admin API. Settings come from the YAML file and environment variables, the environment winning
 * (docs/configuration.md). A usage error exits 2, a bad setting or a failed start 1; SIGTERM or
 * SIGINT drains and exits 0.
 */
import { runMain, stopOnSignals } from '@sipedge/config';
import { createLogger } from '@sipedge/telemetry';
import { runAdmin } from './admin-cli.js';
import { type Command, USAGE, parseCommandLine } from './cli.js';
import { loadSettings } from './config-file.js';
import { planRole, roleLogger, startRole } from './roles.js';

async function run({ role, configFile }: Extract<Command, { kind: 'run' }>): Promise<void> {
  const settings = loadSettings(configFile, process.env);
  try {
    const plan = planRole(role, settings.env);
    const logger = roleLogger(role, settings.env);
    stopOnSignals(logger, await startRole(plan, logger));
  } catch (error) {
    throw settings.explain(error);
  }
}

const command = parseCommandLine(process.argv.slice(2));
if (command.kind === 'admin') {
  const result = await runAdmin(command.args, process.env, fetch);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
} else if (command.kind === 'help') {
  process.stdout.write(USAGE);
} else if (command.kind === 'usage-error') {
  process.stderr.write(`sipedge: ${command.message}\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  // Reports a failed start (always at info level: LOG_LEVEL may be what is wrong).
  runMain(createLogger({ name: 'sipedge', level: 'info' }), 'sipedge', () => run(command));
}
