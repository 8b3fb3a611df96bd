/** Where a REGISTER came from, as the edge saw it: what the proxy needs to reach the contact later. */
export interface RegistrationContext {
  /** The TCP/TLS flow the REGISTER arrived on (RFC 5626: requests to the contact reuse it). */
  readonly flowId?: string;
  /** The edge that holds that flow or received the datagram. */
  readonly edgeId?: string;
  /** The packet's source address (the `received`/`rport` of §18.2.1 and RFC 3581). */
  readonly source?: { readonly transport: string; readonly address: string; readonly port: number };
  /**
   * The REGISTER's Path (RFC 3327 §5.3), in order: the proxies between the registrar and the UA,
   * the preloaded route set of every request to the contact.
   */
  readonly path?: readonly string[];
}

/** The registrar's per-binding metadata, stored as JSON in `Binding.data`. */
export interface BindingData extends RegistrationContext {
  /** The Contact's `+sip.instance` value without its quotes (RFC 5626 §4.1, RFC 5627). */
  readonly instance?: string;
  /** The Contact's `reg-id` (RFC 5626 §4.2), 1 to 2^31-1. */
  readonly regId?: number;
  /**
   * The contact is behind a NAT (or asked for a flow, RFC 5626 `ob`/`reg-id`): requests to it go to
   * `source`, never to the address in the Contact.
   */
  readonly nat?: true;
}

export function encodeBindingData(data: BindingData): string {
  return JSON.stringify(data);
}

/** Reads `Binding.data`; fields of the wrong type, and text that is not JSON, are ignored. */
export function decodeBindingData(text: string): BindingData {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const v = value as Record<string, unknown>;
  const out: {
    flowId?: string;
    edgeId?: string;
    source?: { transport: string; address: string; port: number };
    instance?: string;
    regId?: number;
    nat?: true;
    path?: string[];
  } = {};
  if (typeof v.flowId === 'string') out.flowId = v.flowId;
  if (typeof v.edgeId === 'string') out.edgeId = v.edgeId;
  const s = v.source as Record<string, unknown> | null | undefined;
  if (
    typeof s === 'object' &&
    s !== null &&
    typeof s.transport === 'string' &&
    typeof s.address === 'string' &&
    typeof s.port === 'number'
  ) {
    out.source = { transport: s.transport, address: s.address, port: s.port };
  }
  if (typeof v.instance === 'string') out.instance = v.instance;
  if (typeof v.regId === 'number' && Number.isInteger(v.regId)) out.regId = v.regId;
  if (v.nat === true) out.nat = true;
  if (Array.isArray(v.path) && v.path.length > 0 && v.path.every((p) => typeof p === 'string')) {
    out.path = v.path as string[];
  }
  return out;
}
