/**
 * The names of a growing dictionary (ids in order) as bytes, when they are
 * ASCII: a line's bytes are compared with them without making a string.
 * A name with other characters never equals bytes the lean scanner hands
 * over (those are ASCII).
 */
export class NameBytes {
  private bytes = new Uint8Array(1024);
  private used = 0;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Adds the name of the next id. */
  push(name: string): void {
    const start = this.used;
    if (start + name.length > this.bytes.length) {
      const larger = new Uint8Array(Math.max(this.bytes.length * 2, start + name.length));
      larger.set(this.bytes.subarray(0, start));
      this.bytes = larger;
    }
    const bytes = this.bytes;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c >= 0x80) {
        this.starts.push(-1);
        this.ends.push(-1);
        return;
      }
      bytes[start + k] = c;
    }
    this.used = start + name.length;
    this.starts.push(start);
    this.ends.push(this.used);
  }

  /** Whether name `id` is the text of buffer[start, end). */
  equals(id: number, buffer: Uint8Array, start: number, end: number): boolean {
    const from = this.starts[id]!;
    if (this.ends[id]! - from !== end - start || from < 0) return false;
    const bytes = this.bytes;
    for (let k = 0; k < end - start; k++) if (buffer[start + k] !== bytes[from + k]) return false;
    return true;
  }

  /** Whether name `id`, a template, is that of the text of buffer[start, end) (fitsTemplate). */
  fits(id: number, buffer: Uint8Array, start: number, end: number): boolean {
    const bytes = this.bytes;
    let t = this.starts[id]!;
    const stop = this.ends[id]!;
    if (t < 0) return false;
    for (let i = start; i < end; ) {
      const c = buffer[i]!;
      if (t >= stop) return false;
      if (c >= 48 && c <= 57) {
        if (bytes[t] !== 0x11) return false;
        t++;
        i++;
        while (i < end && buffer[i]! >= 48 && buffer[i]! <= 57) i++;
        continue;
      }
      if (bytes[t] !== c) return false;
      t++;
      i++;
    }
    return t === stop;
  }
}
