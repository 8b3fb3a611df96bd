import { type SipUri, type Uri, type Via, hostType, stripBrackets } from '@sipedge/sip';

/**
 * The fleet's advertised address: Via sent-by and the Record-Route URI host. Responses and
 * in-dialog requests may arrive at any edge that answers for it.
 */
export interface Advertised {
  host: string;
  port: number;
  /**
   * Port for TLS, written in SIPS Record-Route URIs and TLS Via sent-by (§16.6 steps 4 and 8).
   * Absent: those carry no port, so the default 5061 / RFC 3263 resolution of `host` applies.
   */
  tlsPort?: number;
  /**
   * Ports of the fleet's WebSocket listeners (RFC 7118), written in the Via sent-by and the
   * Record-Route URI facing a WS or WSS client. Absent: `port` (WS) and `tlsPort` (WSS).
   */
  wsPort?: number;
  wssPort?: number;
  /**
   * The fleet's IPv6 address (or a name of it), in the Via sent-by and Record-Route URIs facing
   * IPv6 peers (RFC 5658: each side gets an address of its family). Absent: `host` for every peer.
   */
  ipv6Host?: string;
}

/**
 * What "this proxy" means, for every process of the fleet alike: the edge checking a response's
 * top Via (§18.1.2) or an OPTIONS to itself (§11), and the worker's route preprocessing (§16.4),
 * loop detection (§16.3 step 4) and Record-Route recognition. Built by `fleetSelf`.
 */
export interface SelfConfig {
  advertised: Advertised;
  /** Every host name and address that means this proxy, lower case, without brackets. */
  selfHosts: ReadonlySet<string>;
  /** Ports that mean this proxy (the advertised ones always do). */
  selfPorts: ReadonlySet<number>;
}

/** The settings a process knows itself by: the advertised address, aliases, listeners, more ports. */
export interface FleetIdentity {
  advertised: Advertised;
  /** More host names (or addresses) that mean this proxy. */
  aliases: readonly string[];
  /** The listen addresses of the fleet's sockets; a wildcard address names no one. */
  listen: readonly { address: string; port: number }[];
  /** More ports that mean this proxy (a port forwarded to the fleet, e.g. 5061 behind a balancer). */
  ports?: readonly number[];
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** The one definition of "us" (see `SelfConfig`), from a process's settings. */
export function fleetSelf(identity: FleetIdentity): SelfConfig {
  const { advertised, aliases, listen, ports = [] } = identity;
  const hosts = [
    advertised.host,
    ...(advertised.ipv6Host === undefined ? [] : [advertised.ipv6Host]),
    ...aliases,
    ...listen.map((e) => e.address),
  ];
  return {
    advertised,
    selfHosts: new Set(hosts.filter((h) => !WILDCARDS.has(h)).map((h) => stripBrackets(h).toLowerCase())),
    selfPorts: new Set([
      advertised.port,
      ...[advertised.tlsPort, advertised.wsPort, advertised.wssPort].filter((p) => p !== undefined),
      ...listen.map((e) => e.port),
      ...ports,
    ]),
  };
}

/** A host name or address of this proxy (IPv6 with or without brackets; case-insensitive). */
export function isOurHost(host: string, config: SelfConfig): boolean {
  const h = stripBrackets(host).toLowerCase();
  const { ipv6Host } = config.advertised;
  return (
    config.selfHosts.has(h) ||
    h === stripBrackets(config.advertised.host).toLowerCase() ||
    (ipv6Host !== undefined && h === stripBrackets(ipv6Host).toLowerCase())
  );
}

/** A port this proxy listens on or advertises. */
export function isOurPort(port: number, config: SelfConfig): boolean {
  const { advertised } = config;
  return (
    config.selfPorts.has(port) ||
    port === advertised.port ||
    port === advertised.tlsPort ||
    port === advertised.wsPort ||
    port === advertised.wssPort
  );
}

/** The default port of a SIP/SIPS URI (§19.1.2 note 1): 5061 for sips or transport=tls, else 5060. */
export function defaultPort(uri: SipUri): number {
  return uri.secure || uri.transport === 'tls' ? 5061 : 5060;
}

/**
 * A SIP or SIPS URI that indicates this proxy: its host (its `maddr` when present) is ours and its
 * port is ours. Without a port, a host name counts as ours (RFC 3263 resolution of our own name,
 * SRV included, leads to us whatever port we listen on), an address only when the scheme's
 * default port is one of ours.
 */
export function isOurUri(uri: Uri, config: SelfConfig): boolean {
  if (uri.kind !== 'sip') return false;
  const host = uri.maddr ?? uri.host;
  if (!isOurHost(host, config)) return false;
  if (uri.port !== null) return isOurPort(uri.port, config);
  return hostType(host) === 'name' || isOurPort(defaultPort(uri), config);
}

/**
 * A Via this proxy inserted (§16.11 for responses, §16.3 step 4 for loops; the edge's check of a
 * response's top Via, §18.1.2): sent-by host one of ours, and its port (5060, or 5061 for TLS, when
 * absent; §18.2.2) one of ours.
 */
export function isOurVia(via: Via, config: SelfConfig): boolean {
  return isOurHost(via.host, config) && isOurPort(via.port ?? (via.transport === 'TLS' ? 5061 : 5060), config);
}
