import type { CaptureFacts, CaptureLimits, CaptureStore, CapturedCall, CapturedSipMessage } from './ports.js';
import { newCapturedCall, summarize } from './capture-rules.js';

export class MemoryCaptureStore implements CaptureStore {
  private readonly calls_ = new Map<string, { summary: CapturedCall; messages: CapturedSipMessage[] }>();

  async add(
    entries: readonly { message: CapturedSipMessage; facts: CaptureFacts }[],
    limits: CaptureLimits,
    now: number,
  ): Promise<void> {
    for (const { message, facts } of entries) {
      const call = this.calls_.get(message.callId) ?? {
        summary: newCapturedCall(message.callId, message.at),
        messages: [],
      };
      call.messages.push(message);
      if (call.messages.length > limits.maxMessagesPerCall)
        call.messages.splice(0, call.messages.length - limits.maxMessagesPerCall);
      call.summary = summarize(call.summary, message.at, facts);
      // Map order is insertion order: re-inserting keeps the calls ordered by last message.
      this.calls_.delete(message.callId);
      this.calls_.set(message.callId, call);
    }
    for (const [callId, call] of this.calls_) {
      if (call.summary.lastAt > now - limits.retentionMs && this.calls_.size <= limits.maxCalls) break;
      this.calls_.delete(callId);
    }
  }

  async calls(limit: number): Promise<CapturedCall[]> {
    return [...this.calls_.values()]
      .map((c) => c.summary)
      .reverse()
      .slice(0, limit);
  }

  async messages(callId: string): Promise<CapturedSipMessage[]> {
    return [...(this.calls_.get(callId)?.messages ?? [])].sort((a, b) => a.at - b.at);
  }

  clear(): void {
    this.calls_.clear();
  }
}
