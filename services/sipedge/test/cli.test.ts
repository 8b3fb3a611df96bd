import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/cli.js';

describe('sipedge command line', () => {
  it('runs the all role by default, without a configuration file', () => {
    expect(parseCommandLine([])).toEqual({ kind: 'run', role: 'all' });
  });

  it.each([
    [['edge', '--config', 'edge.yaml'], 'edge', 'edge.yaml'],
    [['worker', '-c', 'w.yaml'], 'worker', 'w.yaml'],
    [['--config=all.yaml', 'all'], 'all', 'all.yaml'],
    [['--config', 'all.yaml'], 'all', 'all.yaml'],
  ])('reads %j', (argv, role, configFile) => {
    expect(parseCommandLine(argv)).toEqual({ kind: 'run', role, configFile });
  });

  it('asks for help with --help or -h, whatever else is given', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['edge', '-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['proxy'], /unknown role "proxy" \(expected all, edge, worker\)/],
    [['edge', 'worker'], /expected one role, got "edge" "worker"/],
    [['--verbose'], /--verbose/],
    [['--config'], /--config/],
    [['--config', ''], /--config: expected a file name/],
  ])('reports a usage error for %j', (argv, message) => {
    const command = parseCommandLine(argv);
    expect(command.kind).toBe('usage-error');
    expect(command.kind === 'usage-error' && command.message).toMatch(message);
  });
});
