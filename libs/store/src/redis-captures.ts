import { storeKeys } from './keys.js';
import type { CaptureFacts, CaptureLimits, CaptureStore, CapturedCall, CapturedSipMessage } from './ports.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

export class RedisCaptureStore implements CaptureStore {
  private readonly addScript;
  private readonly callsScript;

  constructor(private readonly client: RedisClient) {
    this.addScript = loadScript(client, 'capture-add.lua');
    this.callsScript = loadScript(client, 'capture-calls.lua');
  }

  async add(
    entries: readonly { message: CapturedSipMessage; facts: CaptureFacts }[],
    limits: CaptureLimits,
    now: number,
  ): Promise<void> {
    if (entries.length === 0) return;
    const keys = [
      storeKeys.captureIndex(),
      storeKeys.captureSummaries(),
      ...entries.map((e) => storeKeys.captureMessages(e.message.callId)),
    ];
    const args = entries.flatMap(({ message, facts }) => [
      message.callId,
      JSON.stringify(message),
      JSON.stringify({ ...facts, at: message.at }),
    ]);
    await guarded(this.client, () =>
      this.addScript(
        keys.length,
        ...keys,
        now,
        limits.retentionMs,
        limits.maxCalls,
        limits.maxMessagesPerCall,
        ...args,
      ),
    );
  }

  async calls(limit: number): Promise<CapturedCall[]> {
    const keys = [storeKeys.captureIndex(), storeKeys.captureSummaries()];
    const reply = (await guarded(this.client, () => this.callsScript(2, ...keys, limit))) as string[];
    return reply.map((json) => {
      const s = JSON.parse(json) as Omit<CapturedCall, 'method' | 'from' | 'to' | 'status'> & {
        method?: string;
        from?: string;
        to?: string;
        status: number;
      };
      return {
        callId: s.callId,
        method: s.method ?? null,
        from: s.from ?? null,
        to: s.to ?? null,
        status: s.status === 0 ? null : s.status,
        startedAt: s.startedAt,
        lastAt: s.lastAt,
        messages: s.messages,
      };
    });
  }

  async messages(callId: string): Promise<CapturedSipMessage[]> {
    const all = await guarded(this.client, () => this.client.lrange(storeKeys.captureMessages(callId), 0, -1));
    return all.map((json) => JSON.parse(json) as CapturedSipMessage).sort((a, b) => a.at - b.at);
  }
}
