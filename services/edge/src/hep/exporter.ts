import { type Socket, createSocket } from 'node:dgram';
import type { Logger } from '@sipedge/telemetry';
import { formatEndpoint } from '@sipedge/net';
import { familyOf } from '../transports/endpoint.js';
import type { Transport } from '@sipedge/sip';
import type { Endpoint } from '../transports/types.js';
import { HEP_IP_PROTOCOL, HEP_PROTOCOL_TYPE, HepTooLargeError, encodeHep } from './codec.js';
import { keySampler } from './sampling.js';

/** Where and how an edge exports what it sends and receives (`hep.*` settings). */
export interface HepSettings {
  /** The capture server (Homer, heplify-server): an IP literal and a port; UDP. */
  collector: Endpoint;
  /** Capture agent id (chunk 0x000c, uint32). */
  agentId: number;
  /** Auth key (chunk 0x000e), when the collector checks one. */
  password?: string;
  /** Calls captured, in percent (0–100), chosen by Call-ID: a call is captured whole or not at all. */
  samplingPercent: number;
}

/** One SIP message the edge received or sent. */
export interface CapturedMessage {
  /** Received by this edge (`in`) or sent by it (`out`). */
  direction: 'in' | 'out';
  transport: Transport;
  source: Endpoint;
  destination: Endpoint;
  /** The message's bytes as they went over the wire. */
  payload: Uint8Array;
  /** The sampling key and correlation id; absent when the message has none. */
  callId: string | undefined;
  /** When it was received or sent, epoch µs (default: now). */
  atUs?: number;
}

/** What the exporter did with what it was given (for logs and tests; metrics: see the report). */
export interface HepStats {
  /** Messages encoded and handed to the socket. */
  queued: number;
  /** Packets the socket reported sent. */
  sent: number;
  /** Messages of calls the sampling leaves out. */
  unsampled: number;
  /** Dropped because `maxInFlight` packets were still waiting for the socket. */
  droppedFull: number;
  /** Dropped because the packet would not fit in one datagram (or HEP's 16-bit length). */
  droppedOversize: number;
  /** Could not be encoded (an endpoint without an IP address), or the socket failed to send. */
  errors: number;
}

export interface HepExporterOptions {
  logger: Logger;
  /** Packets handed to the socket and not yet reported sent, at most (default 1024); beyond, dropped. */
  maxInFlight?: number;
  /** Epoch µs (default: `performance.timeOrigin + performance.now()`). */
  clock?: () => number;
  /** How often a failure or drop is logged at most (default once a minute). */
  logIntervalMs?: number;
}

/** Largest UDP payload over IPv4 (65,535 − 20 − 8); HEP's own limit is 65,535. */
const MAX_DATAGRAM = 65_507;
const DEFAULT_MAX_IN_FLIGHT = 1024;
const DEFAULT_LOG_INTERVAL_MS = 60_000;

/** Epoch microseconds from the monotonic clock, a whole number. */
export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * Sends every captured message as a HEP3 packet to the collector over UDP: fire and forget. It
 * never throws and never waits: sampling first (by Call-ID), then encoding, then `socket.send`; a
 * packet that finds `maxInFlight` others still queued in the socket is dropped and counted, as is
 * one too large for a datagram. Failures are counted and logged at most once a minute.
 */
export class HepExporter {
  readonly #settings: HepSettings;
  readonly #logger: Logger;
  readonly #socket: Socket;
  readonly #sampled: (key: string) => boolean;
  readonly #maxInFlight: number;
  readonly #clock: () => number;
  readonly #logIntervalMs: number;
  readonly #stats: HepStats = { queued: 0, sent: 0, unsampled: 0, droppedFull: 0, droppedOversize: 0, errors: 0 };
  #inFlight = 0;
  #lastUs = 0;
  #lastLogAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(settings: HepSettings, options: HepExporterOptions) {
    const family = familyOf(settings.collector.address);
    if (family === undefined)
      throw new RangeError(`hep: collector "${settings.collector.address}" is not an IP address`);
    this.#settings = settings;
    this.#logger = options.logger;
    this.#sampled = keySampler(settings.samplingPercent);
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#clock = options.clock ?? nowUs;
    this.#logIntervalMs = options.logIntervalMs ?? DEFAULT_LOG_INTERVAL_MS;
    this.#socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    this.#socket.on('error', (error) => this.#failed(error));
    // Capture never keeps a process alive.
    this.#socket.unref();
  }

  get collector(): Endpoint {
    return { ...this.#settings.collector };
  }

  /** Packets handed to the socket and not yet reported sent. */
  get inFlight(): number {
    return this.#inFlight;
  }

  stats(): HepStats {
    return { ...this.#stats };
  }

  /** A timestamp for a message sent now and captured once the send succeeded (monotonic, µs). */
  now(): number {
    const t = Math.max(this.#clock(), this.#lastUs + 1);
    this.#lastUs = t;
    return t;
  }

  /** Exports one message (or counts why not). Never throws. */
  capture(message: CapturedMessage): void {
    if (this.#closed) return;
    try {
      const key = message.callId ?? message.source.address;
      if (!this.#sampled(key)) {
        this.#stats.unsampled++;
        return;
      }
      if (this.#inFlight >= this.#maxInFlight) {
        this.#stats.droppedFull++;
        this.#maybeLog('hep: collector socket backed up, captures dropped');
        return;
      }
      const { agentId, password } = this.#settings;
      const packet = encodeHep({
        ipProtocol: message.transport === 'udp' ? HEP_IP_PROTOCOL.udp : HEP_IP_PROTOCOL.tcp,
        source: message.source,
        destination: message.destination,
        timeUs: message.atUs ?? this.now(),
        protocolType: HEP_PROTOCOL_TYPE.sip,
        agentId,
        ...(password === undefined ? {} : { password }),
        ...(message.callId === undefined ? {} : { correlationId: message.callId }),
        payload: message.payload,
      });
      if (packet.length > MAX_DATAGRAM) {
        this.#stats.droppedOversize++;
        this.#maybeLog('hep: capture too large for one datagram, dropped');
        return;
      }
      this.#send(packet);
    } catch (error) {
      if (error instanceof HepTooLargeError) {
        this.#stats.droppedOversize++;
        this.#maybeLog('hep: capture too large for one datagram, dropped');
        return;
      }
      this.#failed(error);
    }
  }

  /** Stops exporting; logs the totals. Captures after this are ignored. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#logger.info({ collector: formatEndpoint(this.#settings.collector), ...this.#stats }, 'hep: export stopped');
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }

  #send(packet: Buffer): void {
    const { address, port } = this.#settings.collector;
    this.#socket.send(packet, port, address, (error) => {
      this.#inFlight--;
      if (error) this.#failed(error);
      else this.#stats.sent++;
    });
    // Counted once `send` has taken it (it throws synchronously on a closed socket, without a callback).
    this.#inFlight++;
    this.#stats.queued++;
  }

  #failed(error: unknown): void {
    this.#stats.errors++;
    this.#maybeLog(`hep: export failed: ${error instanceof Error ? error.message : String(error)}`, error);
  }

  /** One warning per `logIntervalMs` at most, with the totals so far. */
  #maybeLog(message: string, error?: unknown): void {
    const now = Date.now();
    if (now - this.#lastLogAt < this.#logIntervalMs) return;
    this.#lastLogAt = now;
    this.#logger.warn({ err: error, collector: formatEndpoint(this.#settings.collector), ...this.#stats }, message);
  }
}
