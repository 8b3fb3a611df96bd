import { captureLogs } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { RESERVED_DESCRIPTORS, checkOpenFileLimit, openFileLimit } from '../src/open-files.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             127431               127431               processes
Max open files            4096                 524288               files
`;

describe('open-file limit', () => {
  it('reads the soft limit of /proc/self/limits; undefined when unreadable or unlimited', () => {
    expect(openFileLimit(() => LIMITS)).toBe(4096);
    expect(openFileLimit(() => LIMITS.replace('4096   ', 'unlimited'))).toBeUndefined();
    expect(
      openFileLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    expect(openFileLimit()).toBeGreaterThan(0); // this machine (Linux)
  });

  it('warns when the limit leaves no room for maxConnections', () => {
    const { lines, logger } = captureLogs('edge');
    checkOpenFileLimit(5000, logger, 5000 + RESERVED_DESCRIPTORS);
    checkOpenFileLimit(5000, logger, undefined);
    expect(lines).toEqual([]);
    checkOpenFileLimit(5000, logger, 4096);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        openFileLimit: 4096,
        maxConnections: 5000,
        msg: expect.stringMatching(/ulimit -n/),
      }),
    ]);
  });
});
