/** The response context (§16.6–§16.10): forking, best response, CANCEL, Timer C, at the unit level. */
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type ContextAction,
  type ContextEvent,
  type ProxyContext,
  applyContextEvent,
  groupTargets,
  startContext,
} from '../src/context.js';

const invite = parseMessage(
  Buffer.from(
    [
      'INVITE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKctx',
      'Max-Forwards: 70',
      'To: <sip:bob@example.com>',
      'From: <sip:alice@example.com>;tag=a',
      'Call-ID: ctx@test',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  ),
);
const res = (status: number, extra: [string, string][] = [], tag = 'b'): SipMessage =>
  parseMessage(buildResponse(invite, status, { toTag: tag, headers: extra }).toBuffer());

/** Runs events in order, returning every action with the context after each. */
function run(targets: { uri: string; q: number }[], events: ContextEvent[], method = 'INVITE') {
  let step = startContext('ctx1', method, groupTargets(targets));
  const log: ContextAction[][] = [step.actions];
  for (const e of events) {
    step = applyContextEvent(step.context, e);
    log.push(step.actions);
  }
  return { context: step.context as ProxyContext, log };
}
const kinds = (actions: ContextAction[]) =>
  actions.map((a) =>
    a.type === 'start-fork' || a.type === 'cancel-fork'
      ? `${a.type}:${a.fork}`
      : a.type === 'forward-response'
        ? `forward:${a.fork}:${a.message.status}`
        : a.type === 'respond'
          ? `respond:${a.status}`
          : a.type,
  );
const two = [
  { uri: 'sip:bob@192.0.2.10', q: 1 },
  { uri: 'sip:bob@192.0.2.11', q: 1 },
];

describe('response context', () => {
  it('§16.6: equal q forks in parallel; lower q only after the first group fails', () => {
    expect(kinds(run(two, []).log[0]!)).toEqual(['start-fork:0', 'start-fork:1']);
    const serial = run(
      [
        { uri: 'sip:bob@192.0.2.10', q: 1 },
        { uri: 'sip:bob@192.0.2.11', q: 0.5 },
      ],
      [{ type: 'response', fork: 0, message: res(486) }],
    );
    expect(kinds(serial.log[0]!)).toEqual(['start-fork:0']);
    expect(kinds(serial.log[1]!)).toEqual(['start-fork:1']);
  });

  it('§16.7 step 6: forks answering 486 and 404 give a 4xx; only 503 gives a generated 500; 600 beats 486; all timeouts give 408', () => {
    const fourxx = run(two, [
      { type: 'response', fork: 0, message: res(486) },
      { type: 'response', fork: 1, message: res(404) },
    ]);
    expect(kinds(fourxx.log[2]!)).toEqual(['forward:0:486', 'complete']);
    const only503 = run([two[0]!], [{ type: 'response', fork: 0, message: res(503) }]);
    expect(kinds(only503.log[1]!)).toEqual(['respond:500', 'complete']);
    const six = run(two, [
      { type: 'response', fork: 0, message: res(486) },
      { type: 'response', fork: 1, message: res(600) },
    ]);
    expect(kinds(six.log[2]!)).toEqual(['forward:1:600', 'complete']);
    const timeouts = run(two, [
      { type: 'timeout', fork: 0 },
      { type: 'timeout', fork: 1 },
    ]);
    expect(kinds(timeouts.log[2]!)).toEqual(['respond:408', 'complete']);
  });

  it('§16.9: a transport error counts as 503, so a single failing target gives 500', () => {
    expect(kinds(run([two[0]!], [{ type: 'transport-error', fork: 0 }]).log[1]!)).toEqual(['respond:500', 'complete']);
  });

  it('§16.7 step 5: 180 and 183 go upstream at once, 100 never; both forks’ 200s are forwarded', () => {
    const r = run(two, [
      { type: 'response', fork: 0, message: res(100) },
      { type: 'response', fork: 0, message: res(180) },
      { type: 'response', fork: 1, message: res(183, [], 'c') },
      { type: 'response', fork: 0, message: res(200) },
      { type: 'response', fork: 1, message: res(200, [], 'c') },
    ]);
    expect(r.log.slice(1).map(kinds)).toEqual([
      [],
      ['forward:0:180'],
      ['forward:1:183'],
      ['forward:0:200', 'cancel-fork:1'],
      ['forward:1:200', 'complete'],
    ]);
  });

  it('§16.7 steps 5 and 10: a 6xx CANCELs the ringing fork and the 6xx goes up after its 487', () => {
    const r = run(two, [
      { type: 'response', fork: 0, message: res(180) },
      { type: 'response', fork: 1, message: res(603) },
      { type: 'response', fork: 0, message: res(487) },
    ]);
    expect(kinds(r.log[2]!)).toEqual(['cancel-fork:0']);
    expect(kinds(r.log[3]!)).toEqual(['forward:1:603', 'complete']);
  });

  it('§16.7 step 7: a chosen 401 carries the challenges of every 401 and 407 received', () => {
    const r = run(two, [
      { type: 'response', fork: 0, message: res(401, [['WWW-Authenticate', 'Digest realm="a", nonce="1"']]) },
      { type: 'response', fork: 1, message: res(407, [['Proxy-Authenticate', 'Digest realm="b", nonce="2"']]) },
    ]);
    const last = r.log[2]![0]!;
    expect(last.type === 'forward-response' && last.message.status).toBe(401);
    expect(last.type === 'forward-response' && last.addHeaders).toEqual([
      ['Proxy-Authenticate', 'Digest realm="b", nonce="2"'],
    ]);
  });

  it('§16.7 step 10: a 200 on one fork CANCELs the other, still ringing, fork', () => {
    const r = run(two, [
      { type: 'response', fork: 1, message: res(180, [], 'c') },
      { type: 'response', fork: 0, message: res(200) },
    ]);
    expect(kinds(r.log[2]!)).toEqual(['forward:0:200', 'cancel-fork:1']);
  });

  it('§16.10: CANCEL before any provisional waits for the 1xx; the 487 goes upstream', () => {
    const r = run(
      [two[0]!],
      [
        { type: 'cancel' },
        { type: 'response', fork: 0, message: res(180) },
        { type: 'response', fork: 0, message: res(487) },
      ],
    );
    expect(kinds(r.log[1]!)).toEqual([]);
    expect(kinds(r.log[2]!)).toEqual(['cancel-fork:0', 'forward:0:180']);
    expect(kinds(r.log[3]!)).toEqual(['forward:0:487', 'complete']);
  });

  it('§16.8: Timer C after a provisional CANCELs the fork; without one it counts as 408', () => {
    const ringing = run(
      [two[0]!],
      [
        { type: 'response', fork: 0, message: res(180) },
        { type: 'timer-c', fork: 0 },
      ],
    );
    expect(kinds(ringing.log[2]!)).toEqual(['cancel-fork:0']);
    const silent = run([two[0]!], [{ type: 'timeout', fork: 0 }]);
    expect(kinds(silent.log[1]!)).toEqual(['respond:408', 'complete']);
  });

  it('starts no new target group after a CANCEL', () => {
    const r = run(
      [
        { uri: 'sip:bob@192.0.2.10', q: 1 },
        { uri: 'sip:bob@192.0.2.11', q: 0.5 },
      ],
      [
        { type: 'response', fork: 0, message: res(180) },
        { type: 'cancel' },
        { type: 'response', fork: 0, message: res(487) },
      ],
    );
    expect(kinds(r.log[3]!)).toEqual(['forward:0:487', 'complete']);
    expect(r.context.forks).toHaveLength(1);
  });

  it('is a plain JSON record: a context that went through JSON behaves the same', () => {
    const events: ContextEvent[] = [
      { type: 'response', fork: 0, message: res(180) },
      { type: 'response', fork: 1, message: res(486) },
      { type: 'response', fork: 0, message: res(404) },
    ];
    let direct = startContext('c', 'INVITE', groupTargets(two));
    let viaJson = { ...direct, context: JSON.parse(JSON.stringify(direct.context)) as ProxyContext };
    for (const e of events) {
      direct = applyContextEvent(direct.context, e);
      viaJson = applyContextEvent(JSON.parse(JSON.stringify(viaJson.context)) as ProxyContext, e);
      expect(kinds(viaJson.actions)).toEqual(kinds(direct.actions));
    }
    expect(viaJson.context).toEqual(direct.context);
  });
});
