// A read-through cache of key, alias and material records, so that a cryptographic call does not
// query SQLite for records it read a moment ago. This process is the only writer of its database,
// so the key directory (./key-directory.ts) drops the whole cache around every change it makes: before
// the transaction (so that no load started earlier can repopulate it with the old row) and after the commit.
// A generation counter makes a load that raced with a change discard its result.

export class RecordCache<V> {
  private readonly map = new Map<string, V>();
  private generation = 0;

  constructor(private readonly maxEntries = 10_000) {}

  async get(id: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.map.get(id);
    if (hit !== undefined) return hit;
    const gen = this.generation;
    const value = await load();
    if (value !== undefined && gen === this.generation) {
      if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value as string);
      this.map.set(id, value);
    }
    return value;
  }

  clear(): void {
    this.generation++;
    this.map.clear();
  }
}
