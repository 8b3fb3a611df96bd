import type { DialogInfo, DialogStore } from './ports.js';

export class MemoryDialogStore implements DialogStore {
  private readonly dialogs = new Map<string, { dialog: DialogInfo; endsAt: number }>();

  async open(dialog: DialogInfo, endsAt: number): Promise<void> {
    this.dialogs.set(dialog.id, { dialog: { ...dialog }, endsAt });
  }

  async close(id: string): Promise<void> {
    this.dialogs.delete(id);
  }

  async list(limit: number, now: number): Promise<{ total: number; dialogs: DialogInfo[] }> {
    for (const [id, { endsAt }] of this.dialogs) if (endsAt <= now) this.dialogs.delete(id);
    const live = [...this.dialogs.values()].sort((a, b) => b.endsAt - a.endsAt);
    return { total: live.length, dialogs: live.slice(0, limit).map(({ dialog }) => ({ ...dialog })) };
  }

  clear(): void {
    this.dialogs.clear();
  }
}
