/**
 * Malformed SIP messages for fuzzing: mutations of valid messages, several per case, as fast-check
 * arbitraries, so that a run is decided by its seed. Pure: no I/O.
 *
 * - bytes: flips, random insertions, special bytes and tokens (NUL, high bytes, CR, LF, brackets,
 *   quotes), deletions, truncation at any point;
 * - headers: removal and duplication (Via, CSeq, Call-ID, From, To, Max-Forwards, Content-Length, …),
 *   bad values (Content-Length wrong, huge, negative or not a number; Max-Forwards 0, negative or
 *   huge; CSeq with another method; unbalanced brackets and quotes), huge values and header counts,
 *   folded lines, Via parameters (rport, received, branch, ttl) and sent-by ports;
 * - framing: bodies longer or shorter than announced, LF-only / CR-only / mixed line endings, the
 *   message pasted twice;
 * - start line: wrong versions, unknown methods, missing or absurd Request-URIs, bad spacing, a
 *   request turned into a response;
 * - random binary instead of a message.
 *
 * Header text is handled as latin1 (one character per byte), so every byte survives a mutation.
 */
import fc from 'fast-check';

/** Headers the structural mutations pick from (long names; their compact forms match too). */
export const MUTATED_HEADERS = [
  'Via',
  'CSeq',
  'Call-ID',
  'From',
  'To',
  'Max-Forwards',
  'Content-Length',
  'Contact',
  'Route',
  'Record-Route',
  'Expires',
  'Content-Type',
  'Require',
  'Proxy-Require',
  'Authorization',
  'Proxy-Authorization',
] as const;

export type MutatedHeader = (typeof MUTATED_HEADERS)[number];

export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'insert'; at: number; bytes: readonly number[] }
  | { kind: 'special'; at: number; token: string; replace: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'remove-header'; header: MutatedHeader }
  | { kind: 'duplicate-header'; header: MutatedHeader; times: number }
  | { kind: 'header-value'; header: MutatedHeader; value: string }
  | { kind: 'huge-value'; header: string; length: number; fill: string }
  | { kind: 'many-headers'; header: string; count: number }
  | { kind: 'fold'; header: MutatedHeader; at: number; whitespace: string }
  | { kind: 'via-param'; name: string; value: string | null }
  | { kind: 'via-port'; port: string }
  | { kind: 'body-length'; delta: number }
  | { kind: 'line-endings'; ending: string; head: boolean }
  | { kind: 'start-line'; part: 'method' | 'uri' | 'version' | 'layout'; value: string }
  | { kind: 'as-response'; status: string; reason: string }
  | { kind: 'paste-twice'; separator: string }
  | { kind: 'random-binary'; prefix: string; bytes: readonly number[] };

/** Compact forms (§7.3.3) of the headers that have one. */
const COMPACT: Readonly<Record<string, string>> = {
  via: 'v',
  from: 'f',
  to: 't',
  'call-id': 'i',
  contact: 'm',
  'content-length': 'l',
  'content-type': 'c',
  supported: 'k',
  subject: 's',
};

/** Bytes and tokens that parsers trip on. */
const SPECIAL_TOKENS = [
  '\0',
  '\xff',
  '\x80',
  '\x7f',
  '\r',
  '\n',
  '\r\n',
  '\r\n\r\n',
  '\r\n ',
  '<',
  '>',
  '"',
  '\\',
  ',',
  ';',
  ':',
  '@',
  '[',
  ']',
  '%',
  '%00',
  '=',
  ' ',
  '\t',
  'SIP/2.0',
  '\0\0\0\0',
];

/** Bad values per header (hosts are loopback: the fuzz run must not reach other machines). */
const BAD_VALUES: Readonly<Record<MutatedHeader, readonly string[]>> = {
  'Content-Length': [
    '-1',
    '99999999999',
    '4294967296',
    '4294967295',
    'abc',
    '',
    '1 2',
    '0x10',
    '+5',
    '1e3',
    '0',
    '65536',
    '00000000000000000001',
  ],
  'Max-Forwards': ['0', '-1', '256', '255', '99999999999999999999', 'abc', '', '1.5', '70 70', '0x46'],
  CSeq: [
    '1 FOO',
    '1 ACK',
    '1 BYE',
    '1 INVITE',
    '1 REGISTER',
    '1 CANCEL',
    '1',
    'INVITE',
    '4294967296 INVITE',
    '-1 INVITE',
    '1 INVITE extra',
    'abc OPTIONS',
    '',
    '1 invite',
  ],
  'Call-ID': ['', ' ', 'a b', '@', '@@@', 'a@b@c', '\t'],
  From: [
    '<sip:alice@127.0.0.1',
    'sip:alice@127.0.0.1>',
    '"unbalanced <sip:alice@127.0.0.1>;tag=1',
    '<>',
    '<sip:>',
    '"a\\"b" <sip:alice@127.0.0.1>;tag=',
    'alice',
    ';tag=x',
    '<sip:alice@127.0.0.1>;tag=a;tag=b',
    '<sip:alice@[::1>;tag=1',
  ],
  To: [
    '<sip:bob@127.0.0.1',
    'sip:bob@127.0.0.1>',
    '"unbalanced <sip:bob@127.0.0.1>',
    '<>',
    '<sip:>',
    'bob',
    '<sip:bob@127.0.0.1>;tag=',
    '<sip:bob@127.0.0.1>;tag=a;tag=b',
    '"\\" <sip:bob@127.0.0.1>',
  ],
  Via: [
    'SIP/2.0/UDP',
    'SIP/2.0/UDP 127.0.0.1:99999',
    'SIP/2.0/UDP 127.0.0.1:-1',
    'SIP/2.0/UDP [::1',
    'SIP/2.0/UDP :5060',
    '',
    'SIP/2.0 127.0.0.1',
    'garbage',
    'SIP/2.0/UDP 127.0.0.1;branch',
    'SIP/2.0/UDP 127.0.0.1;;;',
    'SIP / 2.0 / UDP 127.0.0.1',
  ],
  Contact: [
    '*',
    '<sip:carol@127.0.0.1',
    'sip:carol@127.0.0.1>',
    '<sip:carol@127.0.0.1>;expires=abc',
    '<sip:carol@127.0.0.1>;q=2',
    '<>',
    ',',
    '*, *',
    '"x <sip:carol@127.0.0.1>',
  ],
  Route: [
    '<sip:127.0.0.1;lr',
    '<sip:127.0.0.1;lr>,',
    'sip:127.0.0.1;lr',
    '<tel:123>',
    ',,,',
    '<>',
    '<sip:127.0.0.1;lr>;;',
  ],
  'Record-Route': ['<sip:127.0.0.1;lr', '<>', ',,', '"<sip:127.0.0.1;lr>'],
  Expires: ['-1', '99999999999', 'abc', '0', '', '4294967296'],
  'Content-Type': ['', 'application/sdp;', '/', 'application', ';;'],
  Require: ['foo', '', ',', 'a b'],
  'Proxy-Require': ['foo', '', ',', 'a b'],
  Authorization: ['Digest', 'Digest ,', 'Digest username=', 'Digest username="a', 'Basic', ''],
  'Proxy-Authorization': ['Digest', 'Digest realm="x', 'Digest nonce=,', ''],
};

const VIA_PARAMS: readonly [name: string, values: readonly (string | null)[]][] = [
  ['rport', [null, '', 'abc', '99999', '0', '-1', '65535']],
  ['received', ['', 'abc', '999.0.0.1', '127.0.0.1', '[::1]', '::1', '127.0.0']],
  ['branch', ['', 'z9hG4bK', 'x'.repeat(2000), 'z9hG4bK;;', 'a b', null, '"q"']],
  ['ttl', ['999', 'abc', '', null]],
];

const VIA_PORTS = ['99999', '0', '65536', 'abc', '-1', '', '000005060', '65535', '1'];

const METHODS = ['FOO', 'invite', 'INV@ITE', '', '\xff\xff', 'INVITE INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER'];

/** Request-URIs that are missing, absurd or malformed; hosts stay on loopback. */
const URIS = [
  '',
  'sip:',
  'sip:@',
  'sip:bob@',
  '<sip:bob@127.0.0.1>',
  'sip:bob@[::1',
  'sip:bob@127.0.0.1:99999',
  'sip:bob@127.0.0.1;;;=',
  'sip:bob@127.0.0.1?Route=x',
  'sip:b%zzob@127.0.0.1',
  'tel:',
  'tel:+1-555-0100',
  'sips:bob@127.0.0.1',
  'urn:service:sos',
  `sip:${'a'.repeat(5000)}@127.0.0.1`,
  '*',
  'sip:bob:secret@127.0.0.1',
  '"sip:bob@127.0.0.1"',
  'sip:bob@127.0.0.1;transport=',
  'sip:%00@127.0.0.1',
];

const VERSIONS = ['SIP/2.1', 'SIP/3.0', 'sip/2.0', 'SIP/20', 'HTTP/1.1', '', 'SIP/2.0.1', 'SIP/02.00', 'SIP/'];

/** Start-line layouts: separators doubled, tabs, trailing or missing spaces. */
const LAYOUTS = ['double-space', 'tab', 'trailing-space', 'no-space', 'leading-space'];

const STATUSES = ['100', '180', '200', '486', '699', '999', '000', '99', '1000', 'abc', '700', '2OO'];

const position = fc.oneof({ weight: 1, arbitrary: fc.nat(120) }, { weight: 3, arbitrary: fc.noBias(fc.nat()) });
const header = fc.constantFrom(...MUTATED_HEADERS);
const byte = fc.integer({ min: 0, max: 255 });

/** One mutation: mostly structural ones (which keep a message parseable enough to go deep), bytes next. */
export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('flip' as const), at: position, mask: fc.integer({ min: 1, max: 255 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: position,
      bytes: fc.array(byte, { minLength: 1, maxLength: 16 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('special' as const),
      at: position,
      token: fc.constantFrom(...SPECIAL_TOKENS),
      replace: fc.nat(3),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: position,
      length: fc.integer({ min: 1, max: 64 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: position }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove-header' as const), header }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('duplicate-header' as const),
      header,
      times: fc.oneof(
        { weight: 4, arbitrary: fc.constant(1) },
        { weight: 1, arbitrary: fc.integer({ min: 2, max: 40 }) },
      ),
    }),
  },
  {
    weight: 5,
    arbitrary: header.chain((h) =>
      fc.record({
        kind: fc.constant('header-value' as const),
        header: fc.constant(h),
        value: fc.constantFrom(...BAD_VALUES[h]),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('huge-value' as const),
      header: fc.constantFrom('X-Fuzz', 'Subject', 'Via', 'From', 'Call-ID', 'Contact', 'User-Agent'),
      length: fc.oneof(fc.integer({ min: 100, max: 4000 }), fc.integer({ min: 4000, max: 70_000 })),
      fill: fc.constantFrom('a', ' ', ',', ';', '\xff', '%', '<'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('many-headers' as const),
      header: fc.constantFrom('X-Fuzz', 'Via', 'Route', 'Record-Route', 'Contact', 'Supported'),
      count: fc.oneof(fc.integer({ min: 10, max: 200 }), fc.integer({ min: 200, max: 3000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fold' as const),
      header,
      at: fc.nat(200),
      whitespace: fc.constantFrom(' ', '\t', '  \t', ''),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(...VIA_PARAMS).chain(([name, values]) =>
      fc.record({
        kind: fc.constant('via-param' as const),
        name: fc.constant(name),
        value: fc.constantFrom(...values),
      }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('via-port' as const), port: fc.constantFrom(...VIA_PORTS) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('body-length' as const),
      delta: fc.integer({ min: -200, max: 200 }).filter((d) => d !== 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('line-endings' as const),
      ending: fc.constantFrom('\n', '\r', '\n\r', '\r\r\n'),
      head: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.record({
        kind: fc.constant('start-line' as const),
        part: fc.constant('method' as const),
        value: fc.constantFrom(...METHODS),
      }),
      fc.record({
        kind: fc.constant('start-line' as const),
        part: fc.constant('uri' as const),
        value: fc.constantFrom(...URIS),
      }),
      fc.record({
        kind: fc.constant('start-line' as const),
        part: fc.constant('version' as const),
        value: fc.constantFrom(...VERSIONS),
      }),
      fc.record({
        kind: fc.constant('start-line' as const),
        part: fc.constant('layout' as const),
        value: fc.constantFrom(...LAYOUTS),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('as-response' as const),
      status: fc.constantFrom(...STATUSES),
      reason: fc.constantFrom('OK', 'Ringing', '', 'Busy Here', '\x01'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('paste-twice' as const),
      separator: fc.constantFrom('', '\r\n', '\r\n\r\n'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('random-binary' as const),
      prefix: fc.constantFrom('', 'INVITE ', 'SIP/2.0 ', 'OPTIONS sip:127.0.0.1 SIP/2.0\r\n', '\r\n\r\n'),
      bytes: fc.array(byte, { maxLength: 1500 }),
    }),
  },
);

/** One to four mutations, applied in order. */
export const mutationsArbitrary: fc.Arbitrary<Mutation[]> = fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 });

/** `message` with every mutation applied in order; never longer than `maxLength` bytes. */
export function mutate(message: Buffer, mutations: readonly Mutation[], maxLength = 70_000): Buffer {
  let text = message.toString('latin1');
  for (const mutation of mutations) text = applyMutation(text, mutation).slice(0, maxLength);
  return Buffer.from(text, 'latin1');
}

/** One mutation of a message held as a latin1 string. */
export function applyMutation(text: string, m: Mutation): string {
  switch (m.kind) {
    case 'flip': {
      if (text.length === 0) return text;
      const at = m.at % text.length;
      return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ m.mask) + text.slice(at + 1);
    }
    case 'insert':
      return splice(text, m.at, 0, String.fromCharCode(...m.bytes));
    case 'special':
      return splice(text, m.at, m.replace, m.token);
    case 'delete':
      return splice(text, m.at, m.length, '');
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'remove-header':
      return editHead(text, (rows) => rows.filter((row, i) => i === 0 || !isHeader(row, m.header)));
    case 'duplicate-header':
      return editHead(text, (rows) => {
        const at = rows.findIndex((row, i) => i > 0 && isHeader(row, m.header));
        return at < 0
          ? rows
          : [...rows.slice(0, at + 1), ...Array<string>(m.times).fill(rows[at]!), ...rows.slice(at + 1)];
      });
    case 'header-value':
      return setHeader(text, m.header, () => m.value);
    case 'huge-value':
      return setHeader(text, m.header, (value) => (value ?? '') + m.fill.repeat(m.length));
    case 'many-headers':
      return editHead(text, (rows) => [
        ...rows,
        ...Array.from({ length: m.count }, (_, i) => `${m.header}: ${manyValue(m.header, i)}`),
      ]);
    case 'fold':
      return editHead(text, (rows) =>
        rows.map((row, i) => {
          if (i === 0 || !isHeader(row, m.header)) return row;
          const colon = row.indexOf(':') + 1;
          const at = colon + (m.at % (row.length - colon + 1));
          return `${row.slice(0, at)}\r\n${m.whitespace}${row.slice(at)}`;
        }),
      );
    case 'via-param':
      return editTopVia(text, (via) => withViaParam(via, m.name, m.value));
    case 'via-port':
      return editTopVia(text, (via) => via.replace(/^(\s*\S+\s+(?:\[[^\]]*\]|[^\s:;,]+))(:[^;,\s]*)?/, `$1:${m.port}`));
    case 'body-length': {
      const { head, body } = split(text);
      if (head === undefined) return text;
      const changed = m.delta > 0 ? body + 'x'.repeat(m.delta) : body.slice(0, Math.max(0, body.length + m.delta));
      return `${head}\r\n\r\n${changed}`;
    }
    case 'line-endings': {
      const { head, body } = split(text);
      if (head === undefined || !m.head) return text.replaceAll('\r\n', m.ending);
      return `${head.replaceAll('\r\n', m.ending)}${m.ending}${m.ending}${body}`;
    }
    case 'start-line':
      return editStartLine(text, (line) => changeStartLine(line, m.part, m.value));
    case 'as-response':
      return editStartLine(text, () => `SIP/2.0 ${m.status} ${m.reason}`);
    case 'paste-twice':
      return text + m.separator + text;
    case 'random-binary':
      return m.prefix + String.fromCharCode(...m.bytes);
  }
}

function splice(text: string, at: number, remove: number, insert: string): string {
  const start = at % (text.length + 1);
  return text.slice(0, start) + insert + text.slice(start + remove);
}

/** The header section (without its blank line) and the body; head undefined when there is no blank line. */
function split(text: string): { head: string | undefined; body: string } {
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? { head: undefined, body: text } : { head: text.slice(0, end), body: text.slice(end + 4) };
}

/** Applies `edit` to the rows of the header section (start line first); a message without one is all head. */
function editHead(text: string, edit: (rows: string[]) => string[]): string {
  const { head, body } = split(text);
  const rows = edit((head ?? text).split('\r\n'));
  return head === undefined ? rows.join('\r\n') : `${rows.join('\r\n')}\r\n\r\n${body}`;
}

function editStartLine(text: string, edit: (line: string) => string): string {
  return editHead(text, ([line = '', ...rows]) => [edit(line), ...rows]);
}

function isHeader(row: string, name: string): boolean {
  const colon = row.indexOf(':');
  if (colon <= 0) return false;
  const written = row.slice(0, colon).trim().toLowerCase();
  const key = name.toLowerCase();
  return written === key || written === COMPACT[key];
}

/** Replaces the value of the header's first row (`value(current)`), or adds a row when it has none. */
function setHeader(text: string, name: string, value: (current: string | undefined) => string): string {
  return editHead(text, (rows) => {
    const at = rows.findIndex((row, i) => i > 0 && isHeader(row, name));
    if (at < 0) return [...rows, `${name}: ${value(undefined)}`];
    const row = rows[at]!;
    const colon = row.indexOf(':');
    return rows.map((r, i) => (i === at ? `${row.slice(0, colon)}: ${value(row.slice(colon + 1).trim())}` : r));
  });
}

/** Applies `edit` to the first value of the first Via row. */
function editTopVia(text: string, edit: (via: string) => string): string {
  return setHeader(text, 'Via', (value) => {
    if (value === undefined) return edit('SIP/2.0/UDP 127.0.0.1');
    const comma = value.indexOf(',');
    return comma < 0 ? edit(value) : edit(value.slice(0, comma)) + value.slice(comma);
  });
}

/** Sets (or, for a null value, adds without a value) one Via parameter, replacing one of that name. */
function withViaParam(via: string, name: string, value: string | null): string {
  const param = value === null ? `;${name}` : `;${name}=${value}`;
  const existing = new RegExp(`;\\s*${name}(=[^;,]*)?`, 'i');
  return existing.test(via) ? via.replace(existing, param) : via + param;
}

function manyValue(header: string, i: number): string {
  switch (header) {
    case 'Via':
      return `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-many-${i}`;
    case 'Route':
    case 'Record-Route':
      return `<sip:127.0.0.1:5060;lr;n=${i}>`;
    case 'Contact':
      return `<sip:many-${i}@127.0.0.1:5060>`;
    case 'Supported':
      return `tag${i}`;
    default:
      return String(i);
  }
}

function changeStartLine(line: string, part: 'method' | 'uri' | 'version' | 'layout', value: string): string {
  const [method = '', uri = '', ...rest] = line.split(' ');
  const version = rest.join(' ');
  switch (part) {
    case 'method':
      return [value, uri, version].join(' ');
    case 'uri':
      return value === '' ? `${method}  ${version}` : [method, value, version].join(' ');
    case 'version':
      return [method, uri, value].join(' ');
    case 'layout':
      return relayout(method, uri, version, value);
  }
}

function relayout(method: string, uri: string, version: string, layout: string): string {
  switch (layout) {
    case 'double-space':
      return `${method}  ${uri}  ${version}`;
    case 'tab':
      return `${method}\t${uri}\t${version}`;
    case 'trailing-space':
      return `${method} ${uri} ${version} `;
    case 'no-space':
      return `${method}${uri} ${version}`;
    default:
      return ` ${method} ${uri} ${version}`;
  }
}
