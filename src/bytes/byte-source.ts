/**
 * Random access to the bytes of one file or object. The zip reader needs nothing else,
 * so the same reader works on a local file and on an S3 object (ranged GETs).
 */
export interface ByteSource {
  /** A name for messages: a path or a URI. */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * `length` bytes from `offset`; fewer only where the source ends first. I/O failures are
   * typed, one-line errors (NotFoundError, StorageError) naming the source.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * The last `length` bytes (all of them when the source is shorter) and the total size, in one
   * read. Where a source has it (an S3 suffix range), a zip's end is found without the request
   * that `size()` would cost first.
   */
  readEnd?(length: number): Promise<{ bytes: Uint8Array; size: number }>;
  close(): Promise<void>;
}

/** A byte source over bytes already in memory (small segments, tests). */
export class MemoryByteSource implements ByteSource {
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = '<memory>',
  ) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, Math.min(offset + length, this.bytes.length));
  }

  async close(): Promise<void> {}
}
