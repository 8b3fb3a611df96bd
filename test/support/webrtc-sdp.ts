/**
 * The WebRTC SDP bodies of the SIPp scenarios that talk to a browser (test/sipp/webrtc-uas.xml
 * answers the browser's offer, test/sipp/webrtc-uac.xml offers to it), read from the scenario
 * files themselves so that there is one copy: the browser harness's self-test and in-process stubs
 * use exactly what SIPp sends.
 */
import { readFileSync } from 'node:fs';

const scenarios = new URL('../sipp/', import.meta.url).pathname;

/** The values of the SIPp keywords (`[local_ip]`, `[auto_media_port]`) an SDP body uses. */
export interface SdpAddress {
  /** SIPp's `[local_ip]` (default 127.0.0.1). */
  ip?: string;
  /** SIPp's `[auto_media_port]` (default 6000). */
  port?: number;
}

/** The WebRTC answer test/sipp/webrtc-uas.xml sends in its 200 OK (setup:active, mid 0). */
export function webrtcAnswerSdp(address: SdpAddress = {}): string {
  return scenarioSdp('webrtc-uas', address);
}

/** The WebRTC offer test/sipp/webrtc-uac.xml sends in its INVITE (setup:actpass, mid 0). */
export function webrtcOfferSdp(address: SdpAddress = {}): string {
  return scenarioSdp('webrtc-uac', address);
}

/**
 * The SDP body of the scenario's one message with a body (from its `v=0` line to the end of the
 * CDATA section, indentation removed, CRLF line ends as on the wire) with SIPp's keywords filled.
 */
export function scenarioSdp(scenario: string, { ip = '127.0.0.1', port = 6000 }: SdpAddress = {}): string {
  const text = readFileSync(`${scenarios}${scenario}.xml`, 'latin1');
  const bodies = [...text.matchAll(/^([ \t]*)v=0\r?\n([\s\S]*?)\]\]>/gm)];
  if (bodies.length !== 1) throw new Error(`${scenario}.xml: expected one SDP body, found ${bodies.length}`);
  const [, indent, rest] = bodies[0]!;
  const lines = [
    'v=0',
    ...rest!.split(/\r?\n/).map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line)),
  ];
  while (lines.at(-1)?.trim() === '') lines.pop();
  const keywords: Record<string, string> = { local_ip: ip, auto_media_port: String(port) };
  return `${lines
    .map((line) =>
      line.replace(/\[(\w+)\]/g, (_, name: string) => {
        const value = keywords[name];
        if (value === undefined) throw new Error(`${scenario}.xml: SDP keyword [${name}] has no value here`);
        return value;
      }),
    )
    .join('\r\n')}\r\n`;
}
