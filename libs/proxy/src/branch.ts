import { hash } from 'node:crypto';
import { MAGIC_COOKIE, type SipMessage, isToken } from '@sipedge/sip';

/**
 * Branch parameters of the requests this proxy forwards (RFC 3261 §16.6 step 8, §8.1.1.7) and the
 * loop-detection hash inside them (§16.3 step 4).
 *
 * Every branch we create is separable into two parts, as §16.6 step 8 asks of a proxy that detects
 * loops: a part that makes it unique (§8.1.1.7) and the loop hash. Two layouts, told apart by the
 * character after the magic cookie:
 *
 *   stateful fork:  z9hG4bK P <loop:10> . <fork:base36> . <attempt:base36> . <context id>
 *   stateless:      z9hG4bK S <loop:10> . <id:16>
 *
 * The context id comes last so that it may contain any token character, dots included, and a worker
 * can read it back from a response's top Via (`contextIdOfBranch`) to find the response context's
 * Redis hash tag. The request method is never part of a branch (§16.6 step 8: the CANCEL and the
 * non-2xx ACK of a forwarded request carry that request's branch).
 */

/** Length of the loop hash in a branch: 10 base64url characters = 60 bits of SHA-256. */
export const LOOP_HASH_LENGTH = 10;

const FORK_MARK = 'P';
const STATELESS_MARK = 'S';
const STATELESS_ID_LENGTH = 16;
const LOOP_RE = /^[A-Za-z0-9_-]{10}$/;
const FORK_RE = /^z9hG4bKP([A-Za-z0-9_-]{10})\.([0-9a-z]+)\.([0-9a-z]+)\.(.+)$/;
const STATELESS_RE = /^z9hG4bKS([A-Za-z0-9_-]{10})\.([A-Za-z0-9_-]{16})$/;

/** A branch created by this proxy, taken apart. */
export type OurBranch =
  | { kind: 'fork'; loop: string; forkIndex: number; attempt: number; contextId: string }
  | { kind: 'stateless'; loop: string; id: string };

/**
 * The loop-detection hash of a request as received, before any processing (§16.6 step 8, used by
 * §16.3 step 4). It must reflect every field that affects how the request is processed, "including
 * any Route, Proxy-Require and Proxy-Authorization header fields", and "the incoming Request-URI":
 *
 * - the Request-URI as received (before §16.4 and before retargeting),
 * - the To tag and the From tag,
 * - the Call-ID,
 * - the CSeq number (never the method: §16.6 step 8 forbids it in the branch),
 * - every Route value as received (before §16.4 removes ours),
 * - every Proxy-Require value and every Proxy-Authorization value.
 *
 * The topmost Via, which §16.6 step 8 lists in its "common way" example, is left out on purpose:
 * a request that comes back to us always has another element's Via on top (ours is below it), so
 * hashing it would turn every loop into a spiral and §16.3 step 4 could never find one.
 * Max-Forwards is left out for the same reason (every hop decrements it).
 *
 * Values are hashed as written (raw header text, not re-rendered), so a request that returns
 * unchanged hashes the same. Returns 10 base64url characters (token characters, §25.1).
 */
export function loopHash(request: SipMessage): string {
  return digest([
    'loop/1',
    request.requestUriText,
    request.to.tag ?? '',
    request.from.tag ?? '',
    request.callId,
    String(request.cseq.seq),
    request.values('Route'),
    request.values('Proxy-Require'),
    request.values('Proxy-Authorization'),
  ]).slice(0, LOOP_HASH_LENGTH);
}

/**
 * The loop hash carried by stateless branches (§16.11): the fields of `loopHash` that an INVITE
 * shares with its CANCEL (§9.1) and with the ACK for a non-2xx response (§17.1.1.3): Request-URI,
 * From tag, Call-ID, CSeq number and Route. The To tag (the ACK carries the response's tag),
 * Proxy-Authorization (a CANCEL cannot carry credentials, §22.1) and Proxy-Require (ignored in a
 * CANCEL or ACK, §8.2.2.3) are left out, because a stateless proxy does no special processing for
 * CANCEL and ACK (§16.11) and they must still get their INVITE's branch (§16.6 step 8).
 */
export function statelessLoopHash(request: SipMessage): string {
  return digest([
    'loop-sl/1',
    request.requestUriText,
    request.from.tag ?? '',
    request.callId,
    String(request.cseq.seq),
    request.values('Route'),
  ]).slice(0, LOOP_HASH_LENGTH);
}

/**
 * The branch of one client transaction of a stateful proxy (§16.6 step 8): unique for every
 * target (`forkIndex`) and every attempt at a target's next tuple (`attempt`, §16.6 step 7: "the
 * branch parameter ... MUST be different for each attempt"). Unique across space and time as long
 * as `contextId` is (it names one response context). Deterministic, so a worker that re-applies a
 * step after a CAS conflict computes the same branch. The method is not an input: the CANCEL and
 * the non-2xx ACK of a fork reuse the fork's branch.
 *
 * @param contextId the response context's id (token characters, §25.1); it becomes the Redis hash tag
 * @param loop      `loopHash` of the request as received
 */
export function forkBranch(contextId: string, loop: string, forkIndex: number, attempt: number): string {
  if (!isToken(contextId)) throw new TypeError(`context id "${contextId}" is not a token`);
  checkLoop(loop);
  checkIndex('fork index', forkIndex);
  checkIndex('attempt', attempt);
  return `${MAGIC_COOKIE}${FORK_MARK}${loop}.${forkIndex.toString(36)}.${attempt.toString(36)}.${contextId}`;
}

/**
 * The branch of a request forwarded statelessly (§16.11): a function of fields that do not
 * change on retransmission, so a retransmitted request (and the CANCEL or non-2xx ACK of an INVITE,
 * which carry the INVITE's top Via) gets the identical branch.
 *
 * Unique part, as §16.11 recommends: when the received top Via branch has the magic cookie, a hash
 * of that branch (with the Via sent-by, as §17.2.3 matches on both); otherwise (RFC 2543 client) a
 * hash of the top Via's sent-by and branch, the From tag, the Call-ID, the CSeq number and the
 * Request-URI. The To tag, which §16.11 also lists, is left out so that the ACK for a non-2xx
 * response (which carries the response's To tag) still follows its INVITE. Loop part:
 * `statelessLoopHash`.
 */
export function statelessBranch(request: SipMessage): string {
  const via = request.topVia;
  if (via === undefined) throw new TypeError('a request without Via cannot be forwarded');
  const branch = via.branch ?? '';
  const unique =
    via.rfc3261Branch && branch.length > MAGIC_COOKIE.length
      ? digest(['sl/1', branch, via.sentBy])
      : digest([
          'sl2543/1',
          via.sentBy,
          branch,
          request.from.tag ?? '',
          request.callId,
          String(request.cseq.seq),
          request.requestUriText,
        ]);
  return `${MAGIC_COOKIE}${STATELESS_MARK}${statelessLoopHash(request)}.${unique.slice(0, STATELESS_ID_LENGTH)}`;
}

/** Takes apart a branch this proxy created; undefined for any other branch. */
export function parseOurBranch(branch: string): OurBranch | undefined {
  const fork = FORK_RE.exec(branch);
  if (fork !== null) {
    const contextId = fork[4]!;
    if (!isToken(contextId)) return undefined;
    return {
      kind: 'fork',
      loop: fork[1]!,
      forkIndex: parseInt(fork[2]!, 36),
      attempt: parseInt(fork[3]!, 36),
      contextId,
    };
  }
  const stateless = STATELESS_RE.exec(branch);
  if (stateless !== null) return { kind: 'stateless', loop: stateless[1]!, id: stateless[2]! };
  return undefined;
}

/**
 * The response context id inside a fork branch (from a response's top Via, §16.7 step 1), which
 * gives the context's Redis hash tag; undefined for stateless or foreign branches.
 */
export function contextIdOfBranch(branch: string): string | undefined {
  const parsed = parseOurBranch(branch);
  return parsed?.kind === 'fork' ? parsed.contextId : undefined;
}

/** The loop hash a request would have to carry to be a loop of `branch` (§16.3 step 4). */
export function loopHashFor(branch: OurBranch, request: SipMessage): string {
  return branch.kind === 'fork' ? loopHash(request) : statelessLoopHash(request);
}

function digest(fields: readonly (string | readonly string[])[]): string {
  return hash('sha256', JSON.stringify(fields), 'base64url');
}

function checkLoop(loop: string): void {
  if (!LOOP_RE.test(loop)) throw new TypeError(`"${loop}" is not a loop hash`);
}

function checkIndex(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}
