/**
 * Dialog-stateful tracking: the active-dialog gauge rises after the 200 of an INVITE
 * the proxy Record-Routed and falls after the dialog's BYE; the dialog is listed in between.
 */
import { buildResponse } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLEE, CALLER, Harness, inviteLines, sip } from './harness.js';
import { request } from './support/requests.js';

/** The callee's BYE (§15.1.1): From and To the other way round, to the caller's Contact. */
const calleeBye = (r: { callId: string; branch: string; route: string[]; from: string; to: string }) =>
  request({ method: 'BYE', uri: `sip:alice@${CALLER.address}:${CALLER.port}`, via: CALLEE, ...r });

async function gauge(h: Harness): Promise<number> {
  const text = await h.workers[0]!.metrics.registry.metrics();
  const line = /^sipedge_dialogs_active (\d+)$/m.exec(text);
  if (line === null) throw new Error(`no sipedge_dialogs_active in:\n${text}`);
  return Number(line[1]);
}

describe('dialog tracking', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('opens a dialog with the 200 of an INVITE, lists it, and closes it with its BYE', async () => {
    h = await Harness.start(2);
    expect(await gauge(h)).toBe(0);
    await h.receive(sip(inviteLines('dlg')), CALLER);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    const recordRoutes = invite.values('record-route');
    const ok = buildResponse(invite, 200, {
      toTag: 'c1',
      headers: [
        ['Contact', `<sip:carol@${CALLEE.address}:${CALLEE.port}>`],
        ...recordRoutes.map((rr): [string, string] => ['Record-Route', rr]),
      ],
    });
    await h.receive(ok.toString(), CALLEE);
    await h.waitFor((s) => s.message.isResponse && s.message.status === 200 && s.message.get('Call-ID') === 'dlg');
    await expect.poll(() => gauge(h)).toBe(1);
    const { dialogs } = await h.stores.dialogs.list(10, Date.now());
    expect(dialogs).toEqual([
      {
        id: expect.stringMatching(/^dlg;/),
        callId: 'dlg',
        caller: 'sip:alice@example.com',
        callee: 'sip:carol@example.net',
        startedAt: expect.any(Number),
      },
    ]);

    // The callee hangs up: its BYE carries our Record-Routes as its route set (§12.1.1).
    const bye = calleeBye({
      callId: 'dlg',
      branch: 'dlg-bye',
      route: recordRoutes,
      from: '<sip:carol@example.net>;tag=c1',
      to: '<sip:alice@example.com>;tag=a1',
    });
    await h.receive(bye, CALLEE);
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'BYE');
    await expect.poll(() => gauge(h)).toBe(0);
    expect((await h.stores.dialogs.list(10, Date.now())).dialogs).toEqual([]);
  });

  it('a BYE that forges the dialog (no token of ours) closes nothing', async () => {
    h = await Harness.start(1);
    await h.stores.dialogs.open(
      { id: 'x;a;b', callId: 'x', caller: 'sip:a@example.com', callee: 'sip:b@example.com', startedAt: 1 },
      Date.now() + 60_000,
    );
    const forged = calleeBye({
      callId: 'x',
      branch: 'forged-bye',
      route: ['<sip:127.0.0.1:5060;lr>'],
      from: '<sip:b@example.com>;tag=b',
      to: '<sip:a@example.com>;tag=a',
    });
    await h.receive(forged, CALLEE);
    await h.waitFor((s) => s.message.isResponse || (s.message.isRequest && s.message.method === 'BYE'));
    expect((await h.stores.dialogs.list(10, Date.now())).total).toBe(1);
  });
});
