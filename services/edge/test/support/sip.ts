/**
 * A SIP message from its start line and header lines: then a Content-Length counting `body`
 * (RFC 3261 §20.14), the empty line that ends the header section (§7) and `body`.
 */
export function sipMessage(lines: readonly string[], body = ''): Buffer {
  const head = [...lines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`].join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');
}
