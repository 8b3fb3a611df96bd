import type { ResolvableTransport, SipUri } from '@sipedge/sip';
import type { Advertised } from './self.js';

/** The proxy's identity and policy: what the pure core needs to decide (no sockets, no clocks). */
export interface ProxyConfig {
  /** The fleet's advertised address (Via sent-by and Record-Route host). */
  advertised: Advertised;
  /** Every host name and address that means this proxy (`fleetSelf`). */
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
  transport?: ResolvableTransport;
  /** Host to resolve: `maddr` when present, else the URI host (brackets removed). */
  host: string;
  /** Explicit port; absent means SRV lookup / default (RFC 3263 §4.2). */
  port?: number;
}
