/**
 * Requests the malformed-message fuzz run (test/integration/fuzz.test.ts) found the worker failing
 * on: each made a handler throw (logged `inbound message failed`, the request never answered).
 * They are handed over as over TCP, where the edge waits for the worker's acknowledgement, so a
 * handler that throws fails the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { registered, request as sipRequest } from './support/requests.js';

const UAC = { address: '192.0.2.1', port: 5060 };
const UAS = { address: '192.0.2.20', port: 5070 };

/** From UAC over TCP, in a dialog with bob (To tag b1), its Max-Forwards (if any) among `extra`. */
function request(method: string, uri: string, callId: string, extra: string[]): string {
  return sipRequest({
    method,
    uri,
    callId,
    via: UAC,
    transport: 'TCP',
    maxForwards: null,
    to: '<sip:bob@example.com>;tag=b1',
    extra,
  });
}

describe('requests the fuzz run found the worker failing on', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('a Route that is not a SIP URI, to a registered user: 416, not a TypeError from the next-hop step', async () => {
    h = await Harness.start(1);
    await registered(h, { contact: UAS, callId: 'fz-reg' });
    const invite = request('INVITE', 'sip:bob@example.com', 'fz-tel-route', [
      'Max-Forwards: 70',
      'Route: <tel:123>',
    ]).replace(';tag=b1', '');
    await h.receive(invite, UAC, 'tcp');
    const answer = await h.waitFor((s) => s.message.callId === 'fz-tel-route' && s.message.status >= 400);
    expect([answer.message.status, answer.message.reason]).toEqual([416, 'Unsupported URI Scheme in Route']);
  });

  it('a trusted 2xx ACK or CANCEL with Max-Forwards 0 or a tel: Route: validated (§16.3) before it is forwarded', async () => {
    h = await Harness.start(1);
    const uri = `sip:bob@${UAS.address}:${UAS.port}`;
    await h.receive(request('ACK', uri, 'fz-ack-mf0', ['Max-Forwards: 0']), UAC, 'tcp');
    await h.receive(request('ACK', uri, 'fz-ack-tel', ['Max-Forwards: 70', 'Route: <tel:1>']), UAC, 'tcp');
    await h.receive(request('CANCEL', uri, 'fz-cancel-tel', ['Max-Forwards: 70', 'Route: <tel:1>']), UAC, 'tcp');
    expect((await h.waitFor((s) => s.message.callId === 'fz-cancel-tel')).message.status).toBe(416);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.sent.filter((s) => s.message.isRequest)).toEqual([]);
  });
});
