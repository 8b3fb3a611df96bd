/**
 * RFC 3261 §17 timers (Table 4 of Appendix A), RFC 6026's L and M, and the proxy's Timer C
 * (§16.6 step 11, §16.8), computed from T1, T2 and T4.
 */
export type TimerName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M';

export interface TimerSettings {
  /** RTT estimate, default 500 ms (§17.1.1.1). */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum time a message remains in the network, default 5 s. */
  t4: number;
  /** Timer D on unreliable transports; at least 32 s (§17.1.1.2). */
  timerD: number;
  /** Proxy INVITE timer; greater than 3 minutes (§16.6 step 11). */
  timerC: number;
}

export const DEFAULT_TIMERS: TimerSettings = { t1: 500, t2: 4000, t4: 5000, timerD: 32_000, timerC: 181_000 };

/** Checks a timer configuration; throws a RangeError naming the bad setting. */
export function checkTimerSettings(settings: TimerSettings): TimerSettings {
  const positive = (name: keyof TimerSettings) => {
    const v = settings[name];
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name}: expected a positive number of ms, got ${v}`);
  };
  (['t1', 't2', 't4', 'timerD', 'timerC'] as const).forEach(positive);
  if (settings.t2 < settings.t1)
    throw new RangeError(`t2: expected at least t1 (${settings.t1} ms), got ${settings.t2}`);
  if (settings.timerD < 32_000)
    throw new RangeError(`timerD: expected at least 32000 ms (§17.1.1.2), got ${settings.timerD}`);
  if (settings.timerC <= 180_000)
    throw new RangeError(`timerC: expected more than 180000 ms (§16.6), got ${settings.timerC}`);
  return settings;
}

/**
 * The first delay of a timer, or null when the timer is not used on this transport. On reliable
 * transports A, E and G are not started and D, I, J, K are zero (§17.1.1.2, §17.1.2.2, §17.2.1,
 * §17.2.2).
 */
export function initialDelay(timer: TimerName, reliable: boolean, s: TimerSettings): number | null {
  switch (timer) {
    case 'A':
    case 'E':
    case 'G':
      return reliable ? null : s.t1;
    case 'B':
    case 'F':
    case 'H':
    case 'J':
    case 'L':
    case 'M':
      return timer === 'J' && reliable ? 0 : 64 * s.t1;
    case 'D':
      return reliable ? 0 : s.timerD;
    case 'I':
    case 'K':
      return reliable ? 0 : s.t4;
    case 'C':
      return s.timerC;
  }
}

/** The next retransmission interval: A doubles (§17.1.1.2); E and G double up to T2 (§17.1.2.2, §17.2.1). */
export function nextInterval(timer: 'A' | 'E' | 'G', current: number, s: TimerSettings): number {
  return timer === 'A' ? current * 2 : Math.min(current * 2, s.t2);
}
