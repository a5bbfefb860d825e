import { mkdtemp, rm } from 'node:fs/promises';
import { processTempDir } from './exit-cleanup.js';
import { join } from 'node:path';
import { fileSystemError } from '../errors.js';
import { SpoolFile } from './spool-file.js';

const readChunk = 256 * 1024;

/** One line as read back: its bytes (valid only until the next batch is read) and where they lie. */
export interface SpooledLine {
  offset: number;
  bytes: Buffer;
}

/**
 * A temporary file of text lines, in its own temp directory (removed on close), so that what a
 * run gathers per sample lies on disk rather than in memory. Lines are read back in order or by
 * position.
 */
export class LineSpool {
  private constructor(
    private readonly file: SpoolFile,
    private readonly directory: string,
  ) {}

  static async create(name: string): Promise<LineSpool> {
    const directory = await mkdtemp(join(processTempDir(), 'spool-')).catch((error: unknown) => {
      throw fileSystemError(error, processTempDir(), 'create a temporary directory');
    });
    const file = await SpoolFile.create(join(directory, name)).catch(async (error: unknown) => {
      await rm(directory, { recursive: true, force: true });
      throw error;
    });
    return new LineSpool(file, directory);
  }

  get path(): string {
    return this.file.path;
  }

  /** Adds a line (`text` must not contain a newline). */
  append(text: string): void {
    this.file.append(`${text}\n`);
  }

  /**
   * Every line in order, a chunk's worth at a time (one await per chunk, not per line; the
   * lines' bytes are valid until the next batch is read).
   */
  async *lineBatches(): AsyncGenerator<SpooledLine[]> {
    // A line cut by chunk ends, in pieces joined once when it ends: a line of many chunks is
    // copied once, not once per chunk.
    let pieces: Buffer[] = [];
    let lineOffset = 0;
    let chunkOffset = 0;
    for await (const chunk of this.file.chunks(readChunk)) {
      const batch: SpooledLine[] = [];
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
        if (pieces.length > 0) {
          pieces.push(chunk.subarray(start, end));
          batch.push({ offset: lineOffset, bytes: Buffer.concat(pieces) });
          pieces = [];
        } else {
          batch.push({ offset: chunkOffset + start, bytes: chunk.subarray(start, end) });
        }
        start = end + 1;
      }
      if (start < chunk.length) {
        if (pieces.length === 0) lineOffset = chunkOffset + start;
        // Copied: the chunk is reused by the next read.
        pieces.push(Buffer.from(chunk.subarray(start)));
      }
      chunkOffset += chunk.length;
      if (batch.length) yield batch;
    }
  }

  /** The line of `length` bytes at `offset` (as given by `lineBatches()`), as text. */
  line(offset: number, length: number): string {
    return this.file.readAt(offset, length).toString('utf8');
  }

  async close(): Promise<void> {
    await this.file.remove();
    await rm(this.directory, { recursive: true, force: true }).catch((error: unknown) => {
      throw fileSystemError(error, this.directory, 'remove');
    });
  }
}
