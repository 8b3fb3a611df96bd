/**
 * Overload control on a wait the edge cannot see itself (`EdgeDeps.workerBacklogMs`: a standalone
 * worker thread's hand-off backlog): above the limit a new call is refused at the edge with 503 and
 * Retry-After, before any hand-off; below it the call is handed off.
 */
import { createSocket } from 'node:dgram';
import { MemoryBusHub } from '@sipedge/bus';
import { QUEUES, SUBJECTS } from '@sipedge/handoff';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEdge } from './support/edge.js';

const logger = createLogger({ name: 'edge-backlog-test', level: 'silent' });

const invite = (callId: string, port: number) =>
  [
    'INVITE sip:bob@example.com SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId}`,
    'Max-Forwards: 70',
    'To: <sip:bob@example.com>',
    'From: <sip:alice@example.com>;tag=a1',
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

describe('the edge and a worker backlog it cannot see', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => stop?.());

  it('refuses new calls with 503 while the reported backlog is above the limit, and hands them off below it', async () => {
    const hub = new MemoryBusHub();
    const handedOff: string[] = [];
    const worker = hub.connect({ logger });
    await worker.subscribe(SUBJECTS.inbound, (m) => void handedOff.push(Buffer.from(m.data).toString('latin1')), {
      queue: QUEUES.workers,
    });
    let backlogMs = 300;
    const { edge } = await startTestEdge(
      hub,
      { overload: { maxDelayMs: 100, retryAfterSeconds: 3 } },
      { workerBacklogMs: () => backlogMs },
    );
    const ua = createSocket('udp4');
    await new Promise<void>((resolve) => ua.bind(0, '127.0.0.1', resolve));
    stop = async () => {
      ua.close();
      await edge.stop();
      await worker.close();
    };
    const answers: string[] = [];
    ua.on('message', (data) => answers.push(data.toString('latin1')));
    const edgePort = edge.listening().udp[0]!.port;
    const send = (callId: string) => ua.send(invite(callId, ua.address().port), edgePort, '127.0.0.1');

    send('backlogged');
    await expect.poll(() => answers.length).toBe(1);
    expect(answers[0]).toMatch(/^SIP\/2\.0 503 /);
    expect(answers[0]).toMatch(/\r\nRetry-After: 3\r\n/i);
    expect(handedOff).toEqual([]);

    backlogMs = 0;
    send('taken');
    await expect.poll(() => handedOff.length).toBe(1);
    expect(handedOff[0]).toContain('Call-ID: taken');
    expect(answers).toHaveLength(1);
  });
});
