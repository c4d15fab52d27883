/**
 * Dictionary encoding of one text column: each distinct value gets a small
 * integer id (0 stands for "absent"), so a filter compares integers in a typed
 * array. Case-insensitive dictionaries key on the lower-cased value and keep
 * the first spelling seen for display.
 */
export class Dictionary {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [""];

  constructor(readonly caseInsensitive: boolean) {}

  /** The id of a value, adding it when new. */
  intern(value: string): number {
    const key = this.caseInsensitive ? value.toLowerCase() : value;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(key, id);
      this.names.push(value);
    }
    return id;
  }

  /** The id of a value, or -1 when no entry has it. */
  find(value: string): number {
    return this.ids.get(this.caseInsensitive ? value.toLowerCase() : value) ?? -1;
  }

  /**
   * The ids whose value `accepts` (marked 1 in an array indexed by id), or
   * null when it accepts none. Runs once per distinct value, not per entry.
   */
  matching(accepts: (value: string) => boolean): Uint8Array | null {
    let marks: Uint8Array | null = null;
    for (let id = 1; id < this.names.length; id++) {
      if (!accepts(this.names[id]!)) continue;
      marks ??= new Uint8Array(this.names.length);
      marks[id] = 1;
    }
    return marks;
  }

  name(id: number): string {
    return this.names[id] ?? "";
  }

  get size(): number {
    return this.names.length;
  }
}
