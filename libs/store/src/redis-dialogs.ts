import { storeKeys } from './keys.js';
import type { DialogInfo, DialogStore } from './ports.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

export class RedisDialogStore implements DialogStore {
  private readonly openScript;
  private readonly closeScript;
  private readonly listScript;
  private readonly keys = [storeKeys.dialogs(), storeKeys.dialogEnds()];

  constructor(private readonly client: RedisClient) {
    this.openScript = loadScript(client, 'dialog-open.lua');
    this.closeScript = loadScript(client, 'dialog-close.lua');
    this.listScript = loadScript(client, 'dialog-list.lua');
  }

  async open(dialog: DialogInfo, endsAt: number): Promise<void> {
    await guarded(this.client, () => this.openScript(2, ...this.keys, dialog.id, JSON.stringify(dialog), endsAt));
  }

  async close(id: string): Promise<void> {
    await guarded(this.client, () => this.closeScript(2, ...this.keys, id));
  }

  async list(limit: number, now: number): Promise<{ total: number; dialogs: DialogInfo[] }> {
    const reply = (await guarded(this.client, () => this.listScript(2, ...this.keys, now, limit))) as (
      number | string
    )[];
    return { total: Number(reply[0]), dialogs: reply.slice(1).map((json) => JSON.parse(String(json)) as DialogInfo) };
  }
}
