/**
 * Natural batching for high-volume ingest: items that arrive while a flush is running wait and
 * go together in the next flush (one statement for many messages). Under light load every
 * batch holds one item, so latency is what it would be without batching; under a flood the
 * batches grow and the per-message cost of database round trips shrinks.
 *
 * Each item's promise settles with its own outcome, so one unknown device fails only its own
 * message. Callers keep per-device order by not adding a device's next message before the
 * previous one settled (the MQTT link's per-device chains do this), which also means a batch
 * never holds two messages of one device.
 */
export class Batcher<T> {
  private queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;

  constructor(
    /** Stores the items; returns, per item in order, null for success or the item's error. */
    private readonly flush: (items: T[]) => Promise<(Error | null)[]>,
    private readonly maxBatch = 500,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((b) => b.item));
          batch.forEach((b, i) => {
            const err = results[i];
            if (err) b.reject(err);
            else b.resolve();
          });
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
