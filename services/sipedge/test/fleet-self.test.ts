import { edgeSelf } from '@sipedge/edge';
import { isOurUri, isOurVia } from '@sipedge/proxy';
import { parseUri, parseVia } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { planRole } from '../src/roles.js';

/** A fleet behind a balancer: the advertised TLS and WSS ports are not the ports the edge binds. */
const FLEET = {
  SIPEDGE_ADVERTISED: 'sip.example.com:5060',
  SIPEDGE_ADVERTISED_TLS_PORT: '443',
  SIPEDGE_ADVERTISED_WSS_PORT: '8443',
  SIPEDGE_ALIASES: 'edge-1.example.com',
  SIPEDGE_SELF_PORTS: '5070',
  SIPEDGE_UDP: '127.0.0.1:5060',
  SIPEDGE_TCP: '127.0.0.1:5060',
};

describe('one "self" for the whole fleet', () => {
  const plan = planRole('all', FLEET);
  const edge = edgeSelf(plan.edge!);
  const worker = plan.worker!.proxy;

  it('the edge and the worker mean the same hosts and ports by "us", from the same settings', () => {
    expect([...edge.selfHosts].sort()).toEqual([...worker.selfHosts].sort());
    expect([...edge.selfPorts].sort()).toEqual([...worker.selfPorts].sort());
    expect(edge.advertised).toEqual(worker.advertised);
  });

  it('§18.1.2: a response to a Via the worker wrote on a TLS fork is ours at the edge', () => {
    const tlsVia = parseVia('SIP/2.0/TLS sip.example.com:443;branch=z9hG4bKfork');
    expect(isOurVia(tlsVia, worker)).toBe(true);
    expect(isOurVia(tlsVia, edge)).toBe(true);
    expect(isOurVia(parseVia('SIP/2.0/UDP sip.example.com:5071;branch=z9hG4bKx'), edge)).toBe(false);
  });

  it('§11, §16.4: the same Request-URIs are addressed to us at the edge and at the worker', () => {
    for (const [uri, ours] of [
      ['sip:sip.example.com', true],
      ['sip:edge-1.example.com:5070', true],
      ['sip:127.0.0.1:5060', true],
      ['sip:127.0.0.1', true],
      ['sip:127.0.0.1:5071', false],
      ['sip:other.example.com', false],
    ] as const) {
      expect([uri, isOurUri(parseUri(uri), edge)]).toEqual([uri, ours]);
      expect([uri, isOurUri(parseUri(uri), worker)]).toEqual([uri, ours]);
    }
  });
});
