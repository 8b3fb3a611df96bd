import type { EnvReader } from '@sipedge/config';
import type { FleetIdentity } from './self.js';

type Listen = readonly { address: string; port: number }[];

/** A process's SIP listeners by transport (each process reads its own, with its own defaults). */
export interface Listeners {
  udp: Listen;
  tcp: Listen;
  tls: Listen;
  ws: Listen;
  wss: Listen;
}

/**
 * The fleet's identity from the environment, read the same way by edges and workers so that both
 * mean the same by "us" (`fleetSelf`): `SIPEDGE_ADVERTISED` (and its IPv6, TLS, WS and WSS
 * variants, which default to the first listener of their transport), `SIPEDGE_ALIASES` and
 * `SIPEDGE_SELF_PORTS`.
 */
export function fleetIdentityFromEnv(env: EnvReader, listeners: Listeners): FleetIdentity {
  // §16.6 steps 4 and 8: the TLS port of SIPS Record-Routes and TLS Via sent-by; RFC 7118: the
  // WebSocket ports (behind an ingress, the port browsers connect to).
  const tlsPort = env.port('SIPEDGE_ADVERTISED_TLS_PORT', listeners.tls[0]?.port);
  const wsPort = env.port('SIPEDGE_ADVERTISED_WS_PORT', listeners.ws[0]?.port);
  const wssPort = env.port('SIPEDGE_ADVERTISED_WSS_PORT', listeners.wss[0]?.port);
  // RFC 5658: the address facing IPv6 peers.
  const ipv6Host = env.host('SIPEDGE_ADVERTISED_IPV6');
  return {
    advertised: {
      ...env.hostPort('SIPEDGE_ADVERTISED', { host: '127.0.0.1', port: 5060 }),
      ...(tlsPort === undefined ? {} : { tlsPort }),
      ...(wsPort === undefined ? {} : { wsPort }),
      ...(wssPort === undefined ? {} : { wssPort }),
      ...(ipv6Host === undefined ? {} : { ipv6Host }),
    },
    aliases: env.list('SIPEDGE_ALIASES', []),
    // A phone may use an edge's own listen address as its outbound proxy, and its Route then names
    // it (§16.4): the listeners mean this proxy too.
    listen: [...listeners.udp, ...listeners.tcp, ...listeners.tls, ...listeners.ws, ...listeners.wss],
    ports: env.ports('SIPEDGE_SELF_PORTS', []),
  };
}
