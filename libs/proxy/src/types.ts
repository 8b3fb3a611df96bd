import type { SipUri } from '@sipedge/sip';

/** The proxy's identity and policy: what the pure core needs to decide (no sockets, no clocks). */
export interface ProxyConfig {
  /**
   * The fleet's advertised address: Via sent-by and the Record-Route URI host. Responses and
   * in-dialog requests may arrive at any edge that answers for it.
   */
  advertised: {
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
  };
  /** Every host name and address that means this proxy (advertised host, aliases, listen addresses). */
  selfHosts: ReadonlySet<string>;
  /** Ports that mean this proxy. */
  selfPorts: ReadonlySet<number>;
  /** Domains served: Request-URIs in them go through the location service (§16.5). */
  domains: ReadonlySet<string>;
  /** Option tags this proxy supports (§16.3 step 5: Proxy-Require). */
  supported: readonly string[];
  /** Insert Record-Route (§16.6 step 4); on by default so in-dialog requests come back. */
  recordRoute: boolean;
  /** A request larger than this that would go over UDP is sent over TCP instead (§18.1.1). Default 1300. */
  udpMtu: number;
}

/** Where a forwarded request goes next (§16.6 step 7), before DNS. */
export interface NextHop {
  /** The URI that decided it: the top Route after processing, or the Request-URI. */
  uri: SipUri;
  /** Transport chosen from the URI (`transport` param, sips → tls) or, when absent, left to resolution (RFC 3263). */
  transport?: 'udp' | 'tcp' | 'tls';
  /** Host to resolve: `maddr` when present, else the URI host (brackets removed). */
  host: string;
  /** Explicit port; absent means SRV lookup / default (RFC 3263 §4.2). */
  port?: number;
}
