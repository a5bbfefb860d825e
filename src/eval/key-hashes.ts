/**
 * 53-bit hashes of a sequence of keys, 8 bytes a key, for telling repeats apart without keeping
 * the keys: positions whose hash is unique hold a key seen nowhere else. Equal hashes mean a
 * repeat or, very rarely, a collision; the caller reads those keys back to decide exactly.
 */
export class KeyHashes {
  private hashes = new Float64Array(1024);
  private size = 0;

  constructor(private readonly hash: (key: string) => number = cyrb53) {}

  get count(): number {
    return this.size;
  }

  add(key: string): void {
    if (this.size === this.hashes.length) {
      const grown = new Float64Array(this.size * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.size++] = this.hash(key);
  }

  /** The positions whose hash another position holds too: only their keys need reading back. */
  sharedPositions(): Set<number> {
    const sorted = this.hashes.slice(0, this.size).sort();
    const repeated = new Set<number>();
    for (let index = 1; index < sorted.length; index++) if (sorted[index] === sorted[index - 1]) repeated.add(sorted[index]!);
    const positions = new Set<number>();
    if (repeated.size) for (let position = 0; position < this.size; position++) if (repeated.has(this.hashes[position]!)) positions.add(position);
    return positions;
  }
}

/** cyrb53 (bryc, public domain): a fast 53-bit string hash, exact in a double. */
function cyrb53(key: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let index = 0; index < key.length; index++) {
    const code = key.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
