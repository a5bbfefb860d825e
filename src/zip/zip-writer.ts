import { open, type FileHandle } from 'node:fs/promises';
import { compress, compressWhole } from '../codec/compress.js';
import { defaultWriteMethod } from '../codec/compression-method.js';
import { SpoolFile } from '../bytes/spool-file.js';
import { ZipFormatError, fileSystemError } from '../errors.js';
import { crc32 } from './crc32.js';
import { centralHeader } from './central-header.js';
import { Flag, RecordSize, Signature, Version, Zip64Sentinel, dosDateTime, madeByUnix, zip64ExtraId } from './records.js';
import type { ZipEntry } from './zip-entry.js';

export interface ZipWriterOptions {
  /**
   * Write ZIP64 records for every entry and for the archive even when nothing needs them
   * (Python's `force_zip64`): for tests and for readers that want to exercise ZIP64.
   */
  forceZip64?: boolean;
}

export interface AddEntryOptions {
  /** Compression method; defaults to zstd where Node can encode it, else deflate. */
  method?: number;
  /** Modification time recorded for the entry; defaults to now. */
  date?: Date;
}

export type EntryData = Uint8Array | string | AsyncIterable<Uint8Array>;

const fileAttributes = (0o600 << 16) >>> 0; // rw-------, as Python's zipfile writes by name
const zip64LocalExtraSize = 4 + 16;
/** Below this an entry's compressed size cannot reach 4 GiB even if it does not compress. */
const smallEntryLimit = Zip64Sentinel.u32 - 2 ** 24;

/**
 * Writes a zip archive entry by entry, each streamed to disk as it is compressed, with the
 * local header patched afterwards (no data descriptors, as Python's zipfile). The archive can
 * be made complete at any moment (`writeCentralDirectory`) and then appended to again: the
 * next entry overwrites the old directory, as Inspect's recorder does with its temp file.
 */
export class ZipWriter {
  private offset = 0;
  private entryCount = 0;
  private readonly buffer = Buffer.allocUnsafe(1024 * 1024);
  /** File offset of buffer[0], and how many bytes of the buffer are waiting to be written. */
  private bufferStart = 0;
  private buffered = 0;
  /** Per entry written: where its data starts, its length, and the CRC-32 of its compressed bytes (for `checkWritten`). */
  private readonly written: number[] = [];
  /** Per entry written: its local header's offset, and where its record starts in the directory spool. */
  private readonly headerOffsets: number[] = [];
  private readonly recordStarts: number[] = [];
  /** Entries left out of the directory (by the order they were written), and their records' total size. */
  private readonly dropped = new Set<number>();
  private droppedBytes = 0;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    /** The central-directory records written so far: on disk, not an object per entry. */
    private readonly directory: SpoolFile,
    private readonly options: ZipWriterOptions,
  ) {}

  /** Writes to `path`; the central directory is kept in `<path>.directory` until the writer closes. */
  static async create(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    const file = await open(path, 'w+', 0o644).catch((error: unknown) => {
      throw fileSystemError(error, path, 'create');
    });
    const directory = await SpoolFile.create(`${path}.directory`).catch(async (error: unknown) => {
      await file.close();
      throw error;
    });
    return new ZipWriter(path, file, directory, options);
  }

  /** Compresses and appends one entry. */
  async add(name: string, data: EntryData, options: AddEntryOptions = {}): Promise<ZipEntry> {
    const method = options.method ?? defaultWriteMethod;
    const input = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const knownSize = input instanceof Uint8Array ? input.length : undefined;
    const { time, date } = dosDateTime(options.date ?? new Date());
    let uncompressedSize = 0;
    let crc = 0;
    const measured = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of input instanceof Uint8Array ? [input] : input) {
        uncompressedSize += chunk.length;
        crc = crc32(chunk, crc);
        yield chunk;
      }
    };
    const zip64 = this.options.forceZip64 === true || knownSize === undefined || knownSize >= smallEntryLimit;
    const whole = input instanceof Uint8Array ? compressWhole(method, input) : undefined;
    if (whole && input instanceof Uint8Array) {
      uncompressedSize = input.length;
      crc = crc32(input);
    }
    return this.writeEntry(
      { name, method, dosTime: time, dosDate: date, externalAttributes: fileAttributes },
      zip64,
      whole ? [whole] : compress(method, measured()),
      () => ({ crc32: crc, uncompressedSize }),
    );
  }

  /**
   * Copies an entry from another archive as its compressed bytes, without decoding them:
   * the CRC and sizes come from the source directory.
   */
  async addRaw(source: ZipEntry, raw: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, name = source.name): Promise<ZipEntry> {
    const zip64 = this.options.forceZip64 === true || source.uncompressedSize >= smallEntryLimit || source.compressedSize >= smallEntryLimit;
    return this.writeEntry(
      {
        name,
        method: source.method,
        dosTime: source.dosTime,
        dosDate: source.dosDate,
        externalAttributes: source.externalAttributes || fileAttributes,
      },
      zip64,
      raw,
      () => ({ crc32: source.crc32, uncompressedSize: source.uncompressedSize }),
    );
  }

  /**
   * Nothing is committed until the data is all written: when `compressed` throws, the entry is
   * not in the archive, and the next entry (or the directory, which truncates) overwrites its bytes.
   */
  private async writeEntry(
    fields: Pick<ZipEntry, 'name' | 'method' | 'dosTime' | 'dosDate' | 'externalAttributes'>,
    zip64: boolean,
    compressed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    finalFields: () => Pick<ZipEntry, 'crc32' | 'uncompressedSize'>,
  ): Promise<ZipEntry> {
    const nameBytes = Buffer.from(fields.name, 'utf8');
    if (nameBytes.length > Zip64Sentinel.u16) {
      throw new ZipFormatError(`${this.path}: an entry name of ${nameBytes.length} bytes is over zip's limit of ${Zip64Sentinel.u16}`);
    }
    const headerOffset = this.offset;
    const headerSize = RecordSize.localHeader + nameBytes.length + (zip64 ? zip64LocalExtraSize : 0);
    // A placeholder keeps writes sequential (so they buffer); the header is patched in below.
    await this.writeAt(Buffer.alloc(headerSize), headerOffset);
    let position = headerOffset + headerSize;
    let rawCrc = 0;
    for await (const chunk of compressed) {
      await this.writeAt(chunk, position);
      position += chunk.length;
      rawCrc = crc32(chunk, rawCrc);
    }
    const compressedSize = position - headerOffset - headerSize;
    const { crc32: crc, uncompressedSize } = finalFields();
    if (!zip64 && (compressedSize >= Zip64Sentinel.u32 || uncompressedSize >= Zip64Sentinel.u32)) {
      throw new ZipFormatError(`${this.path}: entry ${fields.name} grew past 4 GiB without a ZIP64 header`);
    }
    const entry: ZipEntry = {
      ...fields,
      flags: /^[\x00-\x7f]*$/.test(fields.name) ? 0 : Flag.utf8Name,
      crc32: crc,
      compressedSize,
      uncompressedSize,
      localHeaderOffset: headerOffset,
      versionNeeded: zip64 ? Version.zip64 : Version.default,
      versionMadeBy: madeByUnix | (zip64 ? Version.zip64 : Version.default),
    };
    await this.writeAt(localHeader(entry, nameBytes, zip64), headerOffset);
    this.offset = position;
    this.headerOffsets.push(headerOffset);
    this.recordStarts.push(this.directory.size);
    this.directory.append(centralHeader(entry, this.options.forceZip64 === true));
    this.entryCount++;
    this.written.push(headerOffset + headerSize, compressedSize, rawCrc);
    return entry;
  }

  /**
   * Leaves an entry written earlier out of the archive's directory (a sample replaced by a later
   * attempt of it), from the next `writeCentralDirectory` on. Its bytes stay where they are, as
   * space no reader of the directory sees.
   */
  drop(entry: Pick<ZipEntry, 'localHeaderOffset'>): void {
    const ordinal = sortedIndexOf(this.headerOffsets, entry.localHeaderOffset);
    if (ordinal === undefined) throw new ZipFormatError(`${this.path}: no entry of this archive starts at byte ${entry.localHeaderOffset}`);
    if (this.dropped.has(ordinal)) return;
    this.dropped.add(ordinal);
    this.droppedBytes += (this.recordStarts[ordinal + 1] ?? this.directory.size) - this.recordStarts[ordinal]!;
  }

  /**
   * Writes the central directory and end records after the entries, leaving a complete
   * archive on disk. Later entries overwrite them; call again to complete the archive again.
   */
  async writeCentralDirectory(): Promise<number> {
    const [count, directorySize] = [this.entryCount - this.dropped.size, this.directory.size - this.droppedBytes];
    const directoryOffset = this.offset;
    let position = directoryOffset;
    for await (const chunk of this.keptRecords()) {
      await this.writeAt(chunk, position);
      position += chunk.length;
    }
    const zip64 =
      this.options.forceZip64 === true ||
      count >= Zip64Sentinel.u16 ||
      directorySize >= Zip64Sentinel.u32 ||
      directoryOffset >= Zip64Sentinel.u32;
    const end = Buffer.concat([
      ...(zip64 ? zip64EndRecords(count, directorySize, directoryOffset) : []),
      endOfCentralDirectory(count, directorySize, directoryOffset, zip64),
    ]);
    await this.writeAt(end, position);
    await this.flushBuffer();
    const length = position + end.length;
    await this.file.truncate(length).catch((error: unknown) => {
      throw fileSystemError(error, this.path, 'truncate');
    });
    return length;
  }

  /**
   * Reads every entry's bytes back from the file and compares them with what was written (a
   * CRC-32 of the compressed bytes, so nothing is decoded): proof that the file holds what was
   * written, which was either encoded here or checked by decoding as it was copied.
   */
  async checkWritten(): Promise<void> {
    await this.flushBuffer();
    // Entries lie in file order, so the file is read once, a block at a time (one read per
    // entry would cost a thread-pool round trip each).
    const block = Buffer.allocUnsafe(this.buffer.length);
    let [blockStart, blockEnd] = [0, 0];
    for (let index = 0; index < this.written.length; index += 3) {
      const [start, length, expected] = [this.written[index]!, this.written[index + 1]!, this.written[index + 2]!];
      let crc = 0;
      for (let at = start; at < start + length; ) {
        if (at < blockStart || at >= blockEnd) {
          const { bytesRead } = await this.file.read(block, 0, block.length, at).catch((error: unknown) => {
            throw fileSystemError(error, this.path, 'read');
          });
          if (bytesRead === 0) break;
          [blockStart, blockEnd] = [at, at + bytesRead];
        }
        const end = Math.min(start + length, blockEnd);
        crc = crc32(block.subarray(at - blockStart, end - blockStart), crc);
        at = end;
      }
      if (crc !== expected) throw new ZipFormatError(`${this.path}: entry ${index / 3 + 1} reads back other than it was written`);
    }
  }

  /** The directory spool's bytes, less the records of dropped entries. */
  private async *keptRecords(): AsyncGenerator<Uint8Array> {
    const skipped = [...this.dropped].sort((a, b) => a - b).map((ordinal) => [this.recordStarts[ordinal]!, this.recordStarts[ordinal + 1] ?? this.directory.size] as const);
    let at = 0;
    let next = 0;
    for await (const chunk of this.directory.chunks(this.buffer.length)) {
      const chunkEnd = at + chunk.length;
      let from = at;
      while (next < skipped.length && skipped[next]![0] < chunkEnd) {
        const [start, end] = skipped[next]!;
        if (start > from) yield chunk.subarray(from - at, start - at);
        from = Math.max(from, Math.min(end, chunkEnd));
        if (end > chunkEnd) break;
        next++;
      }
      if (from < chunkEnd) yield chunk.subarray(from - at, chunkEnd - at);
      at = chunkEnd;
    }
  }

  async sync(): Promise<void> {
    await this.flushBuffer();
    await this.file.sync().catch((error: unknown) => {
      throw fileSystemError(error, this.path, 'sync');
    });
  }

  /** Completes the archive, syncs it to disk and closes the file. */
  async close(): Promise<void> {
    try {
      await this.writeCentralDirectory();
      await this.sync();
    } finally {
      await this.file.close();
      await this.directory.remove();
    }
  }

  /** Closes the file without completing the archive (after a failure). */
  async abandon(): Promise<void> {
    await this.flushBuffer().catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await this.directory.remove();
  }

  /**
   * Writes go through a buffer while they are sequential: thousands of small entries then cost a
   * few large writes instead of three each. A write inside the buffer (a header patch) lands in
   * memory; anything else flushes the buffer first.
   */
  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    const bufferedEnd = this.bufferStart + this.buffered;
    if (position >= this.bufferStart && position + bytes.length <= bufferedEnd) {
      this.buffer.set(bytes, position - this.bufferStart);
      return;
    }
    if (position !== bufferedEnd || this.buffered + bytes.length > this.buffer.length) {
      await this.flushBuffer();
      this.bufferStart = position;
    }
    if (bytes.length > this.buffer.length) {
      await this.writeThrough(bytes, position);
      this.bufferStart = position + bytes.length;
      return;
    }
    this.buffer.set(bytes, this.buffered);
    this.buffered += bytes.length;
  }

  private async flushBuffer(): Promise<void> {
    if (this.buffered === 0) return;
    await this.writeThrough(this.buffer.subarray(0, this.buffered), this.bufferStart);
    this.bufferStart += this.buffered;
    this.buffered = 0;
  }

  private async writeThrough(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.file.write(bytes, done, bytes.length - done, position + done).catch((error: unknown) => {
        throw fileSystemError(error, this.path, 'write');
      });
      done += bytesWritten;
    }
  }

}

function localHeader(entry: ZipEntry, name: Uint8Array, zip64: boolean): Buffer {
  const header = Buffer.alloc(RecordSize.localHeader + name.length + (zip64 ? zip64LocalExtraSize : 0));
  header.writeUInt32LE(Signature.localHeader, 0);
  header.writeUInt16LE(entry.versionNeeded, 4);
  header.writeUInt16LE(entry.flags, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(entry.dosTime, 10);
  header.writeUInt16LE(entry.dosDate, 12);
  header.writeUInt32LE(entry.crc32, 14);
  header.writeUInt32LE(zip64 ? Zip64Sentinel.u32 : entry.compressedSize, 18);
  header.writeUInt32LE(zip64 ? Zip64Sentinel.u32 : entry.uncompressedSize, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(zip64 ? zip64LocalExtraSize : 0, 28);
  header.set(name, RecordSize.localHeader);
  if (zip64) {
    const extra = RecordSize.localHeader + name.length;
    header.writeUInt16LE(zip64ExtraId, extra);
    header.writeUInt16LE(16, extra + 2);
    header.writeBigUInt64LE(BigInt(entry.uncompressedSize), extra + 4);
    header.writeBigUInt64LE(BigInt(entry.compressedSize), extra + 12);
  }
  return header;
}

function zip64EndRecords(count: number, directorySize: number, directoryOffset: number): Buffer[] {
  const record = Buffer.alloc(RecordSize.zip64EndOfCentralDirectory);
  record.writeUInt32LE(Signature.zip64EndOfCentralDirectory, 0);
  record.writeBigUInt64LE(BigInt(RecordSize.zip64EndOfCentralDirectory - 12), 4);
  record.writeUInt16LE(madeByUnix | Version.zip64, 12);
  record.writeUInt16LE(Version.zip64, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(directorySize), 40);
  record.writeBigUInt64LE(BigInt(directoryOffset), 48);
  const locator = Buffer.alloc(RecordSize.zip64Locator);
  locator.writeUInt32LE(Signature.zip64Locator, 0);
  locator.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 8);
  locator.writeUInt32LE(1, 16);
  return [record, locator];
}

function endOfCentralDirectory(count: number, directorySize: number, directoryOffset: number, zip64: boolean): Buffer {
  const record = Buffer.alloc(RecordSize.endOfCentralDirectory);
  record.writeUInt32LE(Signature.endOfCentralDirectory, 0);
  const entries = zip64 ? Zip64Sentinel.u16 : count;
  record.writeUInt16LE(entries, 8);
  record.writeUInt16LE(entries, 10);
  record.writeUInt32LE(zip64 ? Zip64Sentinel.u32 : directorySize, 12);
  record.writeUInt32LE(zip64 ? Zip64Sentinel.u32 : directoryOffset, 16);
  return record;
}

/** Where `value` is in an ascending array, or undefined. */
function sortedIndexOf(sorted: readonly number[], value: number): number | undefined {
  let [low, high] = [0, sorted.length - 1];
  while (low <= high) {
    const middle = (low + high) >> 1;
    const found = sorted[middle]!;
    if (found === value) return middle;
    if (found < value) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}
