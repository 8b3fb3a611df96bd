import type { Binding, RegisterOp } from './ports.js';

/**
 * §10.3 steps 6–7: a request with the same Call-ID as a binding must have a higher CSeq, or the
 * whole update is aborted. Shared by the memory twin; register.lua applies the same rule in Redis.
 */
export function isOutOfOrder(binding: Binding | undefined, op: RegisterOp): boolean {
  return binding !== undefined && binding.callId === op.callId && op.cseq <= binding.cseq;
}
