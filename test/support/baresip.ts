/**
 * A real softphone for end-to-end tests: Debian's baresip (baresip-core), one process per user,
 * registered at sipedge over UDP, TCP or TLS and driven over its ctrl_tcp module (netstring JSON
 * commands, call events back). Audio is a sine (ausine, which needs 48 kHz stereo); nothing is
 * played. Everything binds to loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export type PhoneTransport = 'udp' | 'tcp' | 'tls';

export interface PhoneOptions {
  user: string;
  /** The domain it registers in (its AOR is sip:user@domain). */
  domain: string;
  password?: string;
  transport: PhoneTransport;
  /** Where sipedge listens for this transport (its outbound proxy). */
  proxy: { host: string; port: number };
  /** The loopback address the phone binds to (default 127.0.0.1). */
  address?: string;
  /** TLS: the CA file that signed sipedge's certificate. */
  caFile?: string;
  /**
   * Run inside this network namespace (a phone behind a NAT): `address` is its address there, and
   * the control port listens on `controlAddress`, on a link of its own to the test.
   */
  netns?: { name: string; controlAddress: string };
}

/** A baresip event (ctrl_tcp): its type and the fields baresip sends with it. */
export interface PhoneEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  accountaor?: string;
}

export class Phone {
  readonly events: PhoneEvent[] = [];
  private output = '';
  private control!: Socket;
  private buffer = Buffer.alloc(0);
  private token = 0;
  private readonly dir: string;
  private child!: ChildProcess;

  private constructor(readonly options: PhoneOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `baresip-${options.user}-`));
  }

  /**
   * Starts baresip and waits until it has registered (its `200 OK … [1 binding]` line: it may
   * register before the control connection is up, so the event can come too early to be seen).
   */
  static async start(options: PhoneOptions, timeoutMs = 15_000): Promise<Phone> {
    const phone = new Phone(options);
    await phone.launchWithFreePorts();
    const deadline = Date.now() + timeoutMs;
    while (!/\{0\/\w+\/v4\} 200 OK/.test(phone.output)) {
      if (Date.now() > deadline || phone.child.exitCode !== null) {
        await phone.stop();
        throw new Error(`${options.user} did not register over ${options.transport}:\n${phone.output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return phone;
  }

  get aor(): string {
    return `sip:${this.options.user}@${this.options.domain}`;
  }

  /** What baresip printed so far. */
  log(): string {
    return this.output;
  }

  dial(uri: string): void {
    this.command('dial', uri);
  }

  hangup(): void {
    this.command('hangup', '');
  }

  /** The first event (seen now or within `timeoutMs`) that matches. */
  async waitFor(match: (event: PhoneEvent) => boolean, timeoutMs = 10_000): Promise<PhoneEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const seen = this.events.map((e) => e.type).join(', ');
        throw new Error(`${this.options.user}: no matching event in ${timeoutMs} ms; events: ${seen}\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.control?.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * baresip also binds its SIP port + 1 (SIP over TLS) and other ports of its own, which the free
   * ports picked here cannot all reserve: when one of them was taken meanwhile ("Address already
   * in use"), it is started again on other ports, up to three times.
   */
  private async launchWithFreePorts(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch();
        return;
      } catch (error) {
        if (attempt >= 3 || !this.output.includes('Address already in use')) throw error;
        this.output = '';
      }
    }
  }

  private async launch(): Promise<void> {
    const { user, domain, transport, proxy, password = 'pw', caFile } = this.options;
    const address = this.options.address ?? '127.0.0.1';
    const netns = this.options.netns;
    // A namespace of the test's own has every port free.
    const [sipPort, controlPort] = netns === undefined ? [await freePort(), await freePort()] : [5060, 4444];
    const controlAddress = netns?.controlAddress ?? '127.0.0.1';
    const config = [
      'poll_method epoll',
      `sip_listen ${address}:${sipPort}`,
      ...(caFile === undefined ? [] : [`sip_cafile ${caFile}`]),
      `net_interface ${address}`,
      'audio_player aufile,/dev/null',
      'audio_alert aufile,/dev/null',
      'audio_source ausine,440',
      'ausrc_srate 48000',
      'ausrc_channels 2',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module ausine.so',
      'module aufile.so',
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen ${controlAddress}:${controlPort}`,
    ];
    const outbound = `sip:${proxy.host}:${proxy.port};transport=${transport}`;
    const account = `<sip:${user}@${domain};transport=${transport}>;auth_pass=${password};answermode=auto;regint=300;outbound="${outbound}"`;
    writeFileSync(join(this.dir, 'config'), `${config.join('\n')}\n`);
    writeFileSync(join(this.dir, 'accounts'), `${account}\n`);
    const command = ['baresip', '-4', '-f', this.dir];
    const [file, ...args] = netns === undefined ? command : ['ip', 'netns', 'exec', netns.name, ...command];
    this.child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-64 * 1024));
    this.child.stdout!.on('data', append);
    this.child.stderr!.on('data', append);
    this.control = await this.connectControl(controlAddress, controlPort);
  }

  /** Connects to ctrl_tcp once baresip listens on it. */
  private async connectControl(host: string, port: number): Promise<Socket> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host, port }, () => resolve(s));
          s.once('error', reject);
        });
        socket.on('data', (chunk: Buffer) => this.read(chunk));
        socket.on('error', () => undefined);
        return socket;
      } catch (error) {
        if (Date.now() > deadline || this.child.exitCode !== null) {
          throw new Error(
            `baresip (${this.options.user}) has no control port: ${(error as Error).message}\n${this.output}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Netstrings (`<length>:<json>,`) from ctrl_tcp: events are kept, command responses ignored. */
  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString('latin1'));
      if (this.buffer.length < colon + 1 + length + 1) return;
      const json = this.buffer.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.buffer = this.buffer.subarray(colon + 1 + length + 1);
      const message = JSON.parse(json) as PhoneEvent & { event?: boolean };
      if (message.event === true) this.events.push(message);
    }
  }

  private command(command: string, params: string): void {
    const json = JSON.stringify({ command, params, token: String(++this.token) });
    this.control.write(`${Buffer.byteLength(json)}:${json},`);
  }
}
