import type { Binding, RegisterOp } from './ports.js';

/**
 * §10.3 steps 6–7: a request with the same Call-ID as a binding must have a higher CSeq, or the
 * whole update is aborted. Shared by the memory twin; register.lua applies the same rule in Redis.
 */
export function isOutOfOrder(binding: Binding | undefined, op: RegisterOp): boolean {
  return binding !== undefined && binding.callId === op.callId && op.cseq <= binding.cseq;
}

/**
 * A copy with exactly the Binding fields, as both adapters return them: an update carries
 * `expires`, which a binding does not, and a stored JSON value may carry more.
 */
export function bindingOf(b: Binding): Binding {
  return {
    uriKey: b.uriKey,
    contact: b.contact,
    expiresAt: b.expiresAt,
    callId: b.callId,
    cseq: b.cseq,
    q: b.q,
    data: b.data,
  };
}
