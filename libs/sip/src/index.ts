export { SipParseError, isAnswerable, type SipErrorCode, type SipParseErrorDetails } from './errors.js';
export { parseMessage, DEFAULT_MAX_MESSAGE_SIZE, type ParseOptions, type Framing } from './parser.js';
export { StreamFramer, type FramerEvent, type StreamFramerOptions } from './framer.js';
export {
  SipMessage,
  newRow,
  type HeaderRow,
  type StartLine,
  type RequestLine,
  type StatusLine,
  type ContactValue,
} from './message.js';
export {
  buildRequest,
  buildResponse,
  statelessToTag,
  hasStatelessToTag,
  type RequestOptions,
  type ResponseOptions,
  type HeaderList,
} from './builders.js';
export { validateMessage, KNOWN_METHODS } from './validate.js';
export { Via, parseVia, MAGIC_COOKIE, type ViaParts } from './via.js';
export { NameAddr, parseNameAddr } from './name-addr.js';
export {
  SipUri,
  TelUri,
  AbsoluteUri,
  parseUri,
  parseSipUriStrict,
  uriEquals,
  hostType,
  stripBrackets,
  type Uri,
  type SipUriParts,
  type HostType,
} from './uri.js';
export { Params, type Param } from './params.js';
export {
  parseCSeq,
  formatCSeq,
  parseAuth,
  authParam,
  parseUnsigned,
  parseDeltaSeconds,
  type CSeq,
  type AuthValue,
} from './header-values.js';
export { headerKey, canonicalName, isListHeader, isSingleValueHeader } from './header-names.js';
export { quote, unquote, splitList, SyntaxError as SipSyntaxError } from './scanner.js';
export { unescape, decodeUtf8, encodeUtf8, isToken } from './charsets.js';
export { reasonPhrase } from './status-codes.js';
export { ALLOW } from './methods.js';
export { newBranch, newTag, newCallId, randomToken } from './ids.js';
export {
  type ResolvableTransport,
  type Transport,
  TRANSPORTS,
  isTransport,
  isWebSocket,
  isSecureTransport,
} from './transport.js';
export { stampReceived, responseDestination, type ResponseDestination } from './via-routing.js';
