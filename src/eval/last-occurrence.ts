import { KeyHashes } from './key-hashes.js';

/**
 * Which positions of a sequence of keys hold the last occurrence of their key, in 8 bytes a key
 * instead of a map of strings, so that a log's size does not set its memory. Positions whose
 * hash another position shares are read back by the caller (`unsettled`, then `settle`) and
 * decided exactly.
 */
export class LastOccurrence {
  private readonly hashes: KeyHashes;
  private shared: Set<number> | undefined;
  private readonly lastOfSharedKey = new Map<string, number>();

  constructor(hash?: (key: string) => number) {
    this.hashes = new KeyHashes(hash);
  }

  add(key: string): void {
    this.hashes.add(key);
    this.shared = undefined;
    this.lastOfSharedKey.clear();
  }

  /** Positions whose keys must be given to `settle` before `isLast` answers for them. */
  unsettled(): ReadonlySet<number> {
    this.shared ??= this.hashes.sharedPositions();
    return this.shared;
  }

  settle(position: number, key: string): void {
    const last = this.lastOfSharedKey.get(key);
    if (last === undefined || last < position) this.lastOfSharedKey.set(key, position);
  }

  /** Whether no later position holds the same key; `keyAt` is asked only for unsettled positions. */
  isLast(position: number, keyAt: () => string): boolean {
    if (!this.unsettled().has(position)) return true;
    return this.lastOfSharedKey.get(keyAt()) === position;
  }
}
