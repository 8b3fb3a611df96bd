/** Whether something answers SIP at a UDP address. */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

/**
 * Sends OPTIONS with Max-Forwards: 0 every 250 ms until any SIP response arrives (a proxy answers
 * 483 itself, RFC 3261 §16.3 step 3, or 200 when it is the target); rejects after `timeoutMs`.
 */
export async function sipAnswers(target: string, timeoutMs: number): Promise<string> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port: local } = socket.address();
  const callId = randomBytes(8).toString('hex');
  const options = Buffer.from(
    [
      `OPTIONS sip:${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${callId};rport`,
      'Max-Forwards: 0',
      `From: <sip:probe@127.0.0.1:${local}>;tag=${callId}`,
      `To: <sip:${target}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  try {
    return await new Promise<string>((resolve, reject) => {
      const send = () => socket.send(options, port, host);
      const resend = setInterval(send, 250);
      const timer = setTimeout(() => {
        clearInterval(resend);
        reject(new Error(`no SIP response from ${target} in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('message', (message) => {
        const statusLine = message.toString('latin1').split('\r\n', 1)[0]!;
        if (!statusLine.startsWith('SIP/2.0 ')) return;
        clearInterval(resend);
        clearTimeout(timer);
        resolve(statusLine);
      });
      send();
    });
  } finally {
    socket.close();
  }
}

/** /proc/net rows in state LISTEN (proc(5): 0A), for TCP; every bound row for UDP. */
const LISTENING: Record<'udp' | 'tcp', (state: string | undefined) => boolean> = {
  udp: () => true,
  tcp: (state) => state === '0A',
};

/**
 * Waits until some socket is bound to UDP `port`, or listens on TCP `port` (/proc/net/udp, tcp
 * and their IPv6 twins, proc(5)); rejects after `timeoutMs`.
 */
export async function portBound(protocol: 'udp' | 'tcp', port: number, timeoutMs: number): Promise<void> {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tables = [`/proc/net/${protocol}`, `/proc/net/${protocol}6`].map((path) => readFileSync(path, 'latin1'));
    const bound = tables.some((table) =>
      table.split('\n').some((row) => {
        const fields = row.trim().split(/\s+/);
        return fields[1]?.endsWith(suffix) === true && LISTENING[protocol](fields[3]);
      }),
    );
    if (bound) return;
    if (Date.now() > deadline)
      throw new Error(`nothing bound ${protocol.toUpperCase()} port ${port} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
