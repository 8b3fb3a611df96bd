/**
 * The methods sipedge takes (RFC 3261 §20.5 Allow): the core ones and the extensions a proxy
 * forwards (PRACK RFC 3262, SUBSCRIBE/NOTIFY RFC 6665, PUBLISH RFC 3903, INFO RFC 6086, REFER RFC
 * 3515, MESSAGE RFC 3428, UPDATE RFC 3311). The edge and the worker answer OPTIONS with it.
 */
export const ALLOW =
  'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, SUBSCRIBE, NOTIFY, PUBLISH, INFO, REFER, MESSAGE, UPDATE';
