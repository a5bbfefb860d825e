import type { ByteSource } from './byte-source.js';

/**
 * Serves small reads from one block read ahead: walking a zip entry by entry (a local header,
 * then its data, then the next header) becomes one read per block instead of two per entry,
 * which matters with thousands of small entries, and more on S3, where each read is a request.
 */
/** How much of a file's end one read of its end fetches. */
const tailBlockSize = 256 * 1024;

export class ReadAheadByteSource implements ByteSource {
  private block: Uint8Array = new Uint8Array(0);
  private blockStart = 0;
  private knownSize: Promise<number> | undefined;

  constructor(
    private readonly source: ByteSource,
    private readonly blockSize = 1024 * 1024,
  ) {}

  get name(): string {
    return this.source.name;
  }

  /** From the source's end block where it reads one with its size (S3), so that block is in hand for the end records. */
  size(): Promise<number> {
    this.knownSize ??= this.source.readEnd
      ? this.source.readEnd(tailBlockSize).then(({ bytes, size }) => {
          this.block = bytes;
          this.blockStart = size - bytes.length;
          return size;
        })
      : this.source.size();
    // A failure is not kept: the next call asks again.
    this.knownSize.catch(() => (this.knownSize = undefined));
    return this.knownSize;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (offset >= this.blockStart && end <= this.blockStart + this.block.length) {
      return this.block.subarray(offset - this.blockStart, end - this.blockStart);
    }
    if (length >= this.blockSize) return this.source.read(offset, length);
    const size = await this.size();
    if (end >= size) {
      // A read of the end (a zip's end records) takes the block that ends there: with it come the
      // directory and the last entries (an .eval's header.json) of most logs, in one request.
      const start = Math.max(0, size - Math.max(length, tailBlockSize));
      this.block = await this.source.read(start, size - start);
      this.blockStart = start;
      return this.block.subarray(offset - start, end - start);
    }
    // Never past the end: a small file is read whole, not into a mostly empty block.
    this.block = await this.source.read(offset, Math.max(length, Math.min(this.blockSize, size - offset)));
    this.blockStart = offset;
    return this.block.subarray(0, Math.min(length, this.block.length));
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
