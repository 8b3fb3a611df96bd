import { EnvReader } from '@sipedge/config';
import { parseUri, parseVia } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { fleetIdentityFromEnv, fleetSelf, isOurUri, isOurVia } from '../src/index.js';

const NO_LISTENERS = { udp: [], tcp: [], tls: [], ws: [], wss: [] };
const via = (text: string) => parseVia(text.replace(/^.*?: /, ''));

describe('fleetSelf: the one definition of "this proxy"', () => {
  it('takes the advertised host and ports, the aliases and the listen addresses, wildcards aside', () => {
    const self = fleetSelf({
      advertised: { host: 'Edge.Example.com', port: 5060, tlsPort: 443, wssPort: 8443, ipv6Host: '2001:DB8::1' },
      aliases: ['sip.example.com'],
      listen: [
        { address: '0.0.0.0', port: 5070 },
        { address: '::', port: 5070 },
        { address: '[::1]', port: 5080 },
      ],
      ports: [5090],
    });
    expect([...self.selfHosts].sort()).toEqual(['2001:db8::1', '::1', 'edge.example.com', 'sip.example.com']);
    expect([...self.selfPorts].sort()).toEqual([443, 5060, 5070, 5080, 5090, 8443]);
  });

  it('§18.1.2, §16.11: a Via is ours with our host and one of our ports, 5060 (5061 over TLS) when absent', () => {
    const self = fleetSelf({
      advertised: { host: 'edge.example.com', port: 5060, tlsPort: 443 },
      aliases: [],
      listen: [],
    });
    expect(isOurVia(via('SIP/2.0/TLS edge.example.com:443;branch=z9hG4bK1'), self)).toBe(true);
    expect(isOurVia(via('SIP/2.0/UDP EDGE.example.com;branch=z9hG4bK1'), self)).toBe(true);
    expect(isOurVia(via('SIP/2.0/TLS edge.example.com;branch=z9hG4bK1'), self)).toBe(false);
    expect(isOurVia(via('SIP/2.0/UDP edge.example.com:5070;branch=z9hG4bK1'), self)).toBe(false);
  });

  it('§16.4: a URI without a port is ours by name; by address only when its default port is ours', () => {
    const self = fleetSelf({
      advertised: { host: '192.0.2.10', port: 5080 },
      aliases: ['edge.example.com'],
      listen: [],
    });
    expect(isOurUri(parseUri('sip:edge.example.com'), self)).toBe(true);
    expect(isOurUri(parseUri('sip:192.0.2.10'), self)).toBe(false);
    expect(isOurUri(parseUri('sip:192.0.2.10:5080'), self)).toBe(true);
  });
});

describe('fleetIdentityFromEnv', () => {
  it('reads the advertised address and its TLS, WS and WSS ports, defaulting to the first listener of each', () => {
    const env = new EnvReader({ SIPEDGE_ADVERTISED: 'edge.example.com', SIPEDGE_ADVERTISED_WSS_PORT: '443' });
    const identity = fleetIdentityFromEnv(env, {
      ...NO_LISTENERS,
      tls: [{ address: '0.0.0.0', port: 5061 }],
      ws: [{ address: '0.0.0.0', port: 8080 }],
      wss: [{ address: '0.0.0.0', port: 8443 }],
    });
    expect(identity.advertised).toEqual({
      host: 'edge.example.com',
      port: 5060,
      tlsPort: 5061,
      wsPort: 8080,
      wssPort: 443,
    });
    expect(identity.listen.map((e) => e.port)).toEqual([5061, 8080, 8443]);
  });

  it('reads SIPEDGE_ALIASES and SIPEDGE_SELF_PORTS, and names a bad port', () => {
    const identity = fleetIdentityFromEnv(
      new EnvReader({ SIPEDGE_ALIASES: 'a.example.com,b.example.com', SIPEDGE_SELF_PORTS: '5061, 5080' }),
      NO_LISTENERS,
    );
    expect(identity.aliases).toEqual(['a.example.com', 'b.example.com']);
    expect(identity.ports).toEqual([5061, 5080]);
    for (const [name, value] of [
      ['SIPEDGE_SELF_PORTS', '5061,70000'],
      ['SIPEDGE_ADVERTISED_TLS_PORT', '0'],
      ['SIPEDGE_ADVERTISED_WS_PORT', 'ws'],
    ]) {
      expect(() => fleetIdentityFromEnv(new EnvReader({ [name!]: value }), NO_LISTENERS)).toThrow(name);
    }
  });
});
