/**
 * What a SIP element may send back to a client: well-formed responses (RFC 3261 §7.2, §8.2.6),
 * never a request of its own making or an echo of the client's. Used by the fuzz run on every byte
 * it receives.
 */
import { type SipMessage, SipParseError, StreamFramer, type Uri, parseMessage } from '@sipedge/sip';

/** Largest reply read back (a 400 copies every Via of a request of up to SIPEDGE_MAX_MESSAGE_SIZE). */
const MAX_REPLY = 1024 * 1024;

/** The rows every response carries (§8.2.6.2, §20: Via, From, To, Call-ID, CSeq). */
const MANDATORY = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

/**
 * What else a client may receive. `registered`: the contacts the client registered (their
 * {@link contactKey}s), so that a request for one of them may reach the client itself: a REGISTER
 * whose Via did not match the address it came from, or whose Contact named a private address or
 * asked for a flow, makes the registrar reach that contact through that address (a NAT binding:
 * RFC 3581, RFC 5626 §5, Kamailio's nathelper), and a fuzzed REGISTER is often such a one.
 */
export interface ReplyPolicy {
  registered?: ReadonlySet<string>;
}

/** What identifies a registered contact: user, host and port of its URI (the Request-URI sent to it, §16.5). */
export function contactKey(uri: Uri): string | undefined {
  return uri.kind === 'sip' ? `${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? 5060}` : undefined;
}

/** Adds the contacts of a REGISTER, if these bytes are one that parses, to `into`. */
export function noteRegisteredContacts(bytes: Buffer, into: Set<string>): void {
  try {
    const message = parseMessage(bytes, { validate: false });
    if (!message.isRequest || message.method !== 'REGISTER') return;
    for (const contact of message.contacts) {
      const key = contact === '*' ? undefined : contactKey(contact.uri);
      if (key !== undefined) into.add(key);
    }
  } catch {
    // Bytes that do not parse register nothing.
  }
}

/** Why a parsed message is not a well-formed response (or a request `policy` allows), or undefined. */
export function notAResponse(message: SipMessage, policy: ReplyPolicy = {}): string | undefined {
  if (!message.isResponse) {
    return isForContact(message, policy) ? undefined : `a request came back: ${firstLine(message.toBuffer())}`;
  }
  if (message.status < 100 || message.status > 699) return `status ${message.status}`;
  for (const name of MANDATORY) if (!message.has(name)) return `no ${name}`;
  return undefined;
}

/** A request whose Request-URI names a contact the client registered (see {@link ReplyPolicy}). */
function isForContact(request: SipMessage, { registered }: ReplyPolicy): boolean {
  const key = contactKey(request.requestUri);
  return registered !== undefined && key !== undefined && registered.has(key);
}

/** Why a datagram is not exactly one well-formed response (validated, nothing before or after it). */
export function datagramReplyProblem(datagram: Buffer, policy: ReplyPolicy = {}): string | undefined {
  let message: SipMessage;
  try {
    message = parseMessage(datagram, { maxSize: MAX_REPLY });
  } catch (error) {
    if (error instanceof SipParseError) return `malformed (${error.reason}): ${firstLine(datagram)}`;
    throw error;
  }
  if (message.toBuffer().length !== datagram.length) return `bytes around the message: ${firstLine(datagram)}`;
  return notAResponse(message, policy);
}

/**
 * Cuts the bytes a TCP peer sends into messages (CRLF keep-alive pongs skipped, §7.5 / RFC 5626)
 * and reports each well-formed response, and the problem with anything else.
 */
export class StreamReplies {
  private readonly framer = new StreamFramer({ maxMessageSize: MAX_REPLY });

  constructor(private readonly policy: ReplyPolicy = {}) {}

  push(chunk: Buffer): { responses: SipMessage[]; problems: string[] } {
    const responses: SipMessage[] = [];
    const problems: string[] = [];
    for (const event of this.framer.push(chunk)) {
      if (event.type === 'keepalive') continue;
      if (event.type === 'error') {
        problems.push(
          `malformed (${event.error.reason}): ${event.error.partial ? firstLine(event.error.partial.toBuffer()) : ''}`,
        );
        continue;
      }
      const problem = notAResponse(event.message, this.policy);
      if (problem === undefined) responses.push(event.message);
      else problems.push(problem);
    }
    return { responses, problems };
  }

  /** Bytes received that are not (yet) a whole message. */
  get buffered(): number {
    return this.framer.buffered;
  }
}

/** The first line of some bytes, printable (for failure reports). */
export function firstLine(bytes: Buffer): string {
  const end = bytes.indexOf('\r\n');
  return printable(bytes.subarray(0, end < 0 ? Math.min(bytes.length, 200) : Math.min(end, 200)));
}

/** Bytes as text with control and non-ASCII bytes escaped, at most `max` characters. */
export function printable(bytes: Buffer, max = 2000): string {
  const text = bytes.toString('latin1').slice(0, max);
  return JSON.stringify(text).slice(1, -1) + (bytes.length > max ? `…(+${bytes.length - max} bytes)` : '');
}
