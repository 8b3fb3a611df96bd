/**
 * What the end-to-end suites share: the settings every sipedge process gets (digest authentication
 * on, with SIPp-compatible challenges), users and their passwords, a registered SIPp callee, and the
 * per-run summary line with the assertion that nothing failed.
 */
import { expect } from 'vitest';
import {
  type RunningSipp,
  type SippOptions,
  type SippResult,
  type Transport,
  runSipp,
  startSipp,
  summary,
} from '../support/sipp.js';

/** The domain the proxy serves by default: its own address. */
export const DOMAIN = '127.0.0.1';

export const passwordOf = (user: string) => `pw-${user}`;

/**
 * Every REGISTER is challenged (401); an initial INVITE from an untrusted source (only 127.0.0.1/32
 * is trusted, so 127.0.0.2 is not) is challenged too (407).
 */
export function authEnv(users: readonly string[]): NodeJS.ProcessEnv {
  return {
    SIPEDGE_AUTH_REALM: 'sipedge.test',
    SIPEDGE_AUTH_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e',
    SIPEDGE_AUTH_USERS: users.map((u) => `${u}:${passwordOf(u)}`).join(','),
    SIPEDGE_AUTH_PROXY: 'true',
    // SIPp 3.6 answers only an MD5 challenge, and only when it comes first.
    SIPEDGE_AUTH_ALGORITHMS: 'MD5',
    SIPEDGE_TRUSTED: '127.0.0.1/32',
  };
}

/** Prints the run's one-line summary and asserts that SIPp exited 0 with no failed call. */
export function expectAllSucceeded(label: string, results: SippResult[]): void {
  for (const result of results) {
    process.stdout.write(`${summary(`${label} [${result.scenario}]`, result)}\n`);
    expect(result.exitCode, `${label} [${result.scenario}]\n${result.output.slice(0, 6000)}`).toBe(0);
    expect(result.failed).toBe(0);
    expect(result.succeeded).toBeGreaterThan(0);
  }
}

export interface CalleeOptions {
  /** Where the proxy listens. */
  target: string;
  scenario: string;
  user: string;
  transport: Transport;
  calls: number;
  /** The scenario's pause: how long it rings before answering (ms). */
  pauseMs: number;
  timeoutS: number;
  /** TCP: take each connection on its own (SIPp `-t tn`), to outlive a connection that closes. */
  connectionPerCall?: boolean;
}

/** A SIPp callee registered as `user` through the proxy (REGISTER answered with a digest retry). */
export async function registeredCallee(options: CalleeOptions): Promise<RunningSipp> {
  const { target, scenario, user, transport, calls, pauseMs, timeoutS, connectionPerCall } = options;
  const callee = await startSipp({ scenario, transport, calls, pauseMs, timeoutS, connectionPerCall });
  await registerContact(target, user, transport, callee.port);
  return callee;
}

/** Registers `user` (password `passwordOf(user)`) with its Contact at 127.0.0.1:`contactPort`, answering the digest challenge. */
export async function registerContact(
  target: string,
  user: string,
  transport: Transport,
  contactPort: number,
): Promise<void> {
  const registered = await runSipp({
    scenario: 'register',
    fill: { expect: 200 },
    transport,
    target,
    service: user,
    auth: { username: user, password: passwordOf(user), uri: DOMAIN },
    keys: { domain: DOMAIN, contact_port: contactPort },
    calls: 1,
    timeoutS: 10,
  });
  expectAllSucceeded(`register ${user} (${transport})`, [registered]);
}

/** A SIPp caller (uac-call.xml unless `extra.scenario` says otherwise): one call unless told otherwise. */
export function call(target: string, transport: Transport, service: string, extra: Partial<SippOptions> = {}) {
  return runSipp({
    scenario: 'uac-call',
    transport,
    target,
    service,
    keys: { domain: DOMAIN },
    calls: 1,
    timeoutS: 20,
    ...extra,
  });
}
