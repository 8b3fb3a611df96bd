import type { SipMessage } from '@sipedge/sip';

/** A final response a fork ended with: received (`message`), or stood in for a timeout (408) or transport error (503). */
export interface FinalCandidate {
  status: number;
  message: SipMessage | null;
}

export type BestChoice =
  /** Forward the candidate at `index`, with these challenge headers added (§16.7 step 7). */
  | { kind: 'forward'; index: number; addHeaders: [string, string][] }
  /** Generate a response with this status from the request (408 when all timed out, 500 for a chosen 503). */
  | { kind: 'generate'; status: number };

/** 4xx codes the RFC says to prefer, in this order (§16.7 step 6). */
const PREFERRED_4XX = [401, 407, 415, 420, 484];

/**
 * §16.7 step 6: a 6xx if there is one, else a response of the lowest class (preferring 401, 407,
 * 415, 420 and 484 among 4xx); a chosen 503 becomes a generated 500, and with no final response
 * at all the answer is 408. Step 7: a chosen 401/407 carries every WWW-Authenticate and
 * Proxy-Authenticate of all 401/407 responses received (§22.3).
 */
export function chooseBest(candidates: readonly FinalCandidate[]): BestChoice {
  if (candidates.length === 0) return { kind: 'generate', status: 408 };
  const sixxx = candidates.findIndex((c) => c.status >= 600);
  let index = sixxx;
  if (index < 0) {
    const lowestClass = Math.min(...candidates.map((c) => Math.floor(c.status / 100)));
    const inClass = candidates.map((c, i) => ({ c, i })).filter(({ c }) => Math.floor(c.status / 100) === lowestClass);
    const preferred =
      lowestClass === 4
        ? PREFERRED_4XX.map((s) => inClass.find(({ c }) => c.status === s)).find((x) => x !== undefined)
        : undefined;
    index = (preferred ?? inClass[0]!).i;
  }
  const chosen = candidates[index]!;
  if (chosen.status === 503) return { kind: 'generate', status: 500 };
  if (chosen.message === null) return { kind: 'generate', status: chosen.status };
  const addHeaders: [string, string][] = [];
  if (chosen.status === 401 || chosen.status === 407) {
    candidates.forEach((c, i) => {
      if (i === index || c.message === null || (c.status !== 401 && c.status !== 407)) return;
      for (const v of c.message.values('WWW-Authenticate')) addHeaders.push(['WWW-Authenticate', v]);
      for (const v of c.message.values('Proxy-Authenticate')) addHeaders.push(['Proxy-Authenticate', v]);
    });
  }
  return { kind: 'forward', index, addHeaders };
}
