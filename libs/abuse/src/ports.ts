/**
 * What abuse protection needs from the fleet's shared state and bus: the shared state is the
 * `AbuseState` port of @sipedge/ports (the store implements it: Redis, or the in-memory twin
 * standalone); the bus is restated structurally below (`Bus` of @sipedge/bus, NATS or the
 * in-memory twin, is one), so that this package depends on no adapter.
 */
import type { AbuseState, Ban } from '@sipedge/ports';

export type { AbuseState, Ban };

/** Publish/subscribe between the fleet's processes (`Bus` of `@sipedge/bus`). */
export interface BanChannel {
  publish(subject: string, data: Uint8Array): Promise<void>;
  subscribe(
    subject: string,
    handler: (message: { readonly data: Uint8Array }) => void,
  ): Promise<{ unsubscribe(): Promise<void> }>;
}

/** The lines abuse protection logs (a pino logger is one). */
export interface AbuseLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}
