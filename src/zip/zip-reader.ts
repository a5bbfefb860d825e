import type { ByteSource } from '../bytes/byte-source.js';
import { ReadAheadByteSource } from '../bytes/read-ahead-byte-source.js';
import { decompress, decompressWhole } from '../codec/decompress.js';
import { EntryDataError, ReaderClosedError, ZipFormatError } from '../errors.js';
import { parsePythonJson } from '../json/python-json.js';
import { crc32 } from './crc32.js';
import { CentralDirectory } from './central-directory.js';
import { warnings, type WarningHandler } from '../warnings.js';
import { PythonJsonScan } from '../json/json-scan.js';
import { salvageDirectory } from './salvage.js';
import { RecordSize, Signature, Zip64Sentinel, maxEndOfCentralDirectorySearch, readU64, view } from './records.js';
import type { ZipEntry } from './zip-entry.js';

const rawChunkSize = 1024 * 1024;
const streamedInputChunkSize = 64 * 1024;
/** By default, entries up to this size (compressed and decoded) are decoded in one call. */
const defaultWholeDecodeLimit = 16 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: false });
/** V8's longest string, in UTF-16 units: the most any text entry can decode to. */
const maxStringLength = 0x1fffffe8;
/** Entries that declare more than this are not decoded by default (`maxEntrySize`). */
export const defaultMaxEntrySize = 512 * 1024 * 1024;
/**
 * Entries that declare more than this are not parsed by default: parsing holds an entry several
 * times over (its bytes, its text, its objects), where a checked raw copy streams it.
 * An explicit `maxEntrySize` sets both limits.
 */
export const defaultMaxParsedSize = 64 * 1024 * 1024;

export interface ZipReaderOptions {
  keep?: (name: string) => boolean;
  /** Open what can be read: an archive cut short from its whole entries, a directory without the entries that overlap. */
  salvage?: boolean;
  /** The most an entry may declare to be decoded (default 512 MiB) and, when given, to be parsed (default 64 MiB). */
  maxEntrySize?: number;
  /** Told what `salvage` left out or rebuilt. */
  onWarning?: WarningHandler;
}

interface CentralDirectoryLocation {
  entryCount: number;
  size: number;
  offset: number;
}

/**
 * Reads a zip archive through range reads: the end records and central directory once, then
 * each entry's bytes on demand. Entries are listed from the central directory; when a name
 * occurs more than once, the last entry wins, as in every Inspect reader.
 */
export class ZipReader {
  private index: CentralDirectory | undefined;

  private constructor(
    readonly source: ByteSource,
    readonly archiveSize: number,
    index: CentralDirectory,
    /** The most an entry may declare to be decoded (checked for a raw copy), and to be parsed. */
    readonly limits: { maxEntrySize: number; maxParsedSize: number },
    /** Set when the archive had no end records and its directory was rebuilt from its local headers. */
    readonly salvaged?: { entries: number; stoppedAt: number },
  ) {
    this.index = index;
  }

  /** The central directory; gone once the reader is closed (it can be large: let it be freed). */
  get directory(): CentralDirectory {
    if (!this.index) throw new ReaderClosedError(`${this.source.name}: the zip reader is closed`);
    return this.index;
  }

  /**
   * With `keep`, only the entries whose names pass it are listed, and the directory is read a
   * chunk at a time: for a look at a few entries of what may be a large archive. With `salvage`,
   * an archive cut before its end records is opened with the whole entries before the cut
   * (`salvaged` says how many); `keep` does not apply to it.
   */
  static async open(unbuffered: ByteSource, options: ZipReaderOptions = {}): Promise<ZipReader> {
    try {
      return await ZipReader.openSource(unbuffered, options);
    } catch (error) {
      // The reader owns its source: one that cannot be opened closes it (Node 26 fails a process whose file handle is left to the GC).
      await unbuffered.close().catch(() => undefined);
      throw error;
    }
  }

  private static async openSource(unbuffered: ByteSource, { keep, salvage = false, maxEntrySize, onWarning }: ZipReaderOptions): Promise<ZipReader> {
    const limits = { maxEntrySize: maxEntrySize ?? defaultMaxEntrySize, maxParsedSize: maxEntrySize ?? defaultMaxParsedSize };
    const source = new ReadAheadByteSource(unbuffered);
    const size = await source.size();
    const location = await findCentralDirectory(source, size).catch(async (error: unknown) => {
      if (!salvage || !(error instanceof TruncatedArchiveError)) throw error;
      return undefined;
    });
    if (!location) {
      const found = await salvageDirectory(source, size);
      const directory = withoutOverlaps(CentralDirectory.parse(found.records, found.count, source.name, { dropOverlapping: true }), source.name, onWarning);
      onWarning?.(
        warnings.logTruncated(
          `${source.name} is cut short (no end records, as after a partial copy or a full disk): reading its ${found.count} whole entries, up to byte ${found.stoppedAt}`,
          { entries: found.count, stoppedAt: found.stoppedAt },
          source.name,
        ),
      );
      return new ZipReader(source, size, directory, limits, { entries: found.count, stoppedAt: found.stoppedAt });
    }
    if (keep) {
      const read = (offset: number, length: number) => source.read(offset, length);
      const kept = await CentralDirectory.readKeeping(read, location, source.name, keep, { dropOverlapping: salvage });
      return new ZipReader(source, size, withoutOverlaps(kept, source.name, onWarning), limits);
    }
    const directory = await source.read(location.offset, location.size);
    if (directory.length < location.size) throw truncated(source.name, 'the central directory runs past the end of the file');
    const parsed = CentralDirectory.parse(directory, location.entryCount, source.name, { dropOverlapping: salvage });
    return new ZipReader(source, size, withoutOverlaps(parsed, source.name, onWarning), limits);
  }

  /** Every central-directory entry, duplicates included, in directory order (one object each: for small archives). */
  get allEntries(): ZipEntry[] {
    return Array.from({ length: this.directory.count }, (_, position) => this.directory.entryAt(position));
  }

  /** Entries with duplicates resolved (last wins), in central-directory order (one object each: for small archives). */
  get entries(): ZipEntry[] {
    return [...this.eachEntry()];
  }

  /** The entries of `entries`, made one at a time: what large archives are walked with. */
  *eachEntry(): Generator<ZipEntry> {
    for (let position = 0; position < this.directory.count; position++) {
      if (!this.directory.isSuperseded(position)) yield this.directory.entryAt(position);
    }
  }

  entry(name: string): ZipEntry | undefined {
    const position = this.directory.positionOf(name);
    return position === undefined ? undefined : this.directory.entryAt(position);
  }

  has(name: string): boolean {
    return this.directory.positionOf(name) !== undefined;
  }

  /** Where the entry's compressed bytes start: after its local header's own name and extra. */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const header = await this.source.read(entry.localHeaderOffset, RecordSize.localHeader);
    const data = view(header);
    if (header.length < RecordSize.localHeader || data.getUint32(0, true) !== Signature.localHeader) {
      throw new ZipFormatError(`${this.source.name}: entry ${entry.name} has no local header at offset ${entry.localHeaderOffset}`);
    }
    const start = entry.localHeaderOffset + RecordSize.localHeader + data.getUint16(26, true) + data.getUint16(28, true);
    if (start + entry.compressedSize > this.archiveSize) {
      throw truncated(this.source.name, `entry ${entry.name} runs past the end of the file`);
    }
    return start;
  }

  /** The entry's compressed bytes, unchanged, in chunks: for copying without decoding. */
  async *rawChunks(entry: ZipEntry, chunkSize = rawChunkSize): AsyncGenerator<Uint8Array> {
    const start = await this.dataOffset(entry);
    for (let done = 0; done < entry.compressedSize; ) {
      const chunk = await this.source.read(start + done, Math.min(chunkSize, entry.compressedSize - done));
      if (chunk.length === 0) throw truncated(this.source.name, `entry ${entry.name} runs past the end of the file`);
      done += chunk.length;
      yield chunk;
    }
  }

  /**
   * The entry's decoded bytes in chunks, checked against the declared size and CRC-32. Entries
   * up to `wholeDecodeLimit` bytes are decoded in one call (faster) and checked before they are
   * yielded; a reader that consumes the chunks as they come can lower it to bound its memory.
   */
  async *chunks(entry: ZipEntry, { wholeDecodeLimit = defaultWholeDecodeLimit } = {}): AsyncGenerator<Uint8Array> {
    const label = `${this.source.name}: ${entry.name}`;
    this.assertDecodable(entry, label);
    if (entry.compressedSize <= wholeDecodeLimit && entry.uncompressedSize <= wholeDecodeLimit) {
      yield await this.decodeWhole(entry, label);
      return;
    }
    const check = new DecodedCheck(entry, label);
    // Fed in small pieces: JSON inflates ten times or more, and each piece's output comes at once.
    for await (const chunk of decompress(entry.method, this.rawChunks(entry, streamedInputChunkSize), entry.uncompressedSize, label)) {
      check.add(chunk);
      yield chunk;
    }
    check.finish();
  }

  /**
   * The entry's compressed bytes for a raw copy, checked by decoding them on the way (size,
   * CRC-32, and a scan that it is JSON Python's json reads; nothing is built), so a copy never
   * passes damage on, plus the first `headLength` decoded bytes, known before any chunk is taken.
   * A small entry is checked before this returns; a large one is streamed, and its chunks throw
   * EntryDataError or JsonFormatError when it fails.
   */
  async checkedRaw(entry: ZipEntry, headLength = 1024): Promise<CheckedRawEntry> {
    const label = `${this.source.name}: ${entry.name}`;
    this.assertDecodable(entry, label);
    if (entry.compressedSize <= defaultWholeDecodeLimit && entry.uncompressedSize <= defaultWholeDecodeLimit) {
      const raw = await this.rawBytes(entry);
      const decoded = await decodeChecked(entry, raw, label);
      const scan = new PythonJsonScan(label);
      scan.push(decoded);
      scan.finish();
      return { head: Buffer.from(decoded.subarray(0, headLength)), chunks: [raw] };
    }
    let head: Uint8Array = new Uint8Array(0);
    for await (const chunk of decompress(entry.method, this.rawChunks(entry, streamedInputChunkSize), entry.uncompressedSize, label)) {
      head = Buffer.concat([head, chunk.subarray(0, headLength - head.length)]);
      if (head.length >= headLength) break;
    }
    return { head, chunks: this.decodedWhileCopied(entry, label) };
  }

  /** Refuses, before decoding, an entry that declares more than `maxEntrySize`: a bomb costs a line, not minutes and gigabytes. */
  private assertDecodable(entry: ZipEntry, label: string): void {
    if (entry.uncompressedSize > this.limits.maxEntrySize) {
      throw new EntryDataError(`${label}: declares ${entry.uncompressedSize} bytes, over the ${this.limits.maxEntrySize}-byte limit for an entry that is decoded (a zip bomb, or raise --max-entry-size)`);
    }
  }

  /** Refuses, before decoding, an entry too large to be parsed (held whole, as text and objects). */
  assertParsable(entry: ZipEntry): void {
    if (entry.uncompressedSize > this.limits.maxParsedSize) {
      throw new EntryDataError(`${this.source.name}: ${entry.name}: declares ${entry.uncompressedSize} bytes, over the ${this.limits.maxParsedSize}-byte limit for an entry that is parsed (raise --max-entry-size)`);
    }
  }

  private async *decodedWhileCopied(entry: ZipEntry, label: string): AsyncGenerator<Uint8Array> {
    const check = new DecodedCheck(entry, label);
    const scan = new PythonJsonScan(label);
    const passed: Uint8Array[] = [];
    const raw = this.rawChunks(entry, streamedInputChunkSize);
    const tee = async function* () {
      for await (const chunk of raw) {
        passed.push(chunk);
        yield chunk;
      }
    };
    for await (const chunk of decompress(entry.method, tee(), entry.uncompressedSize, label)) {
      check.add(chunk);
      scan.push(chunk);
      yield* passed.splice(0);
    }
    yield* passed.splice(0);
    check.finish();
    scan.finish();
  }

  private async rawBytes(entry: ZipEntry): Promise<Uint8Array> {
    const raw: Uint8Array[] = [];
    for await (const chunk of this.rawChunks(entry)) raw.push(chunk);
    return raw.length === 1 ? raw[0]! : Buffer.concat(raw);
  }

  private async decodeWhole(entry: ZipEntry, label: string): Promise<Uint8Array> {
    return decodeChecked(entry, await this.rawBytes(entry), label);
  }

  async bytes(entry: ZipEntry): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const chunk of this.chunks(entry)) parts.push(chunk);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async text(entry: ZipEntry): Promise<string> {
    this.assertParsable(entry);
    if (entry.uncompressedSize > maxStringLength) {
      throw new EntryDataError(`${this.source.name}: ${entry.name}: ${entry.uncompressedSize} bytes, more than a JavaScript string can hold`);
    }
    return utf8.decode(await this.bytes(entry));
  }

  /** The entry parsed as JSON, accepting Python's NaN and Infinity tokens. */
  async json(entry: ZipEntry): Promise<unknown> {
    return parsePythonJson(await this.text(entry), `${this.source.name}: ${entry.name}`);
  }

  close(): Promise<void> {
    this.index = undefined;
    return this.source.close();
  }
}

export interface CheckedRawEntry {
  /** The first decoded bytes (fewer when the entry is shorter). */
  head: Uint8Array;
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** Counts and checksums decoded bytes, and compares them with what the directory declares. */
class DecodedCheck {
  private size = 0;
  private crc = 0;

  constructor(
    private readonly entry: ZipEntry,
    private readonly label: string,
  ) {}

  add(chunk: Uint8Array): void {
    this.size += chunk.length;
    this.crc = crc32(chunk, this.crc);
  }

  finish(): void {
    if (this.size !== this.entry.uncompressedSize) {
      throw new EntryDataError(`${this.label}: decodes to ${this.size} bytes, but the directory declares ${this.entry.uncompressedSize}`);
    }
    if (this.crc !== this.entry.crc32) throw new EntryDataError(`${this.label}: CRC-32 mismatch (data is corrupt)`);
  }
}

/** A small entry's compressed bytes decoded whole (several times faster than the stream), and checked. */
async function decodeChecked(entry: ZipEntry, compressed: Uint8Array, label: string): Promise<Uint8Array> {
  let decoded = decompressWhole(entry.method, compressed, entry.uncompressedSize, label);
  if (!decoded) {
    const parts: Uint8Array[] = [];
    for await (const chunk of decompress(entry.method, [compressed], entry.uncompressedSize, label)) parts.push(chunk);
    decoded = Buffer.concat(parts);
  }
  const check = new DecodedCheck(entry, label);
  check.add(decoded);
  check.finish();
  return decoded;
}

/** An archive whose end records are missing: cut short, but perhaps with whole entries before the cut. */
class TruncatedArchiveError extends ZipFormatError {}

function truncated(name: string, detail: string): ZipFormatError {
  return new ZipFormatError(`${name}: truncated zip archive (${detail})`);
}

async function findCentralDirectory(source: ByteSource, size: number): Promise<CentralDirectoryLocation> {
  const tailLength = Math.min(size, maxEndOfCentralDirectorySearch);
  const tailStart = size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const eocdAt = findEndOfCentralDirectory(tail);
  if (eocdAt === undefined) {
    const head = tail.length === size ? tail : await source.read(0, 4);
    const looksLikeZip = head.length >= 4 && view(head).getUint32(0, true) === Signature.localHeader;
    if (looksLikeZip) throw new TruncatedArchiveError(`${source.name}: truncated zip archive (no end-of-central-directory record)`);
    throw new ZipFormatError(`${source.name}: not a zip archive`);
  }
  const eocd = view(tail.subarray(eocdAt));
  const location: CentralDirectoryLocation = {
    entryCount: eocd.getUint16(10, true),
    size: eocd.getUint32(12, true),
    offset: eocd.getUint32(16, true),
  };
  const needsZip64 =
    location.entryCount === Zip64Sentinel.u16 || location.size === Zip64Sentinel.u32 || location.offset === Zip64Sentinel.u32;
  // A sentinel value can also be the real value (Python's zipfile writes exactly 65 535 entries
  // without ZIP64 records); like Python, use the ZIP64 records only when the locator is there.
  const resolved = (needsZip64 && (await readZip64EndOfCentralDirectory(source, tailStart + eocdAt))) || location;
  if (resolved.offset + resolved.size > size) throw truncated(source.name, 'the central directory runs past the end of the file');
  return resolved;
}

/** Scans backwards for the EOCD whose comment length reaches exactly to the end of the file. */
function findEndOfCentralDirectory(tail: Uint8Array): number | undefined {
  const data = view(tail);
  for (let at = tail.length - RecordSize.endOfCentralDirectory; at >= 0; at--) {
    if (data.getUint32(at, true) !== Signature.endOfCentralDirectory) continue;
    const commentLength = data.getUint16(at + 20, true);
    if (at + RecordSize.endOfCentralDirectory + commentLength === tail.length) return at;
  }
  return undefined;
}

/** The ZIP64 end record's values, or undefined when no ZIP64 locator precedes the end record. */
async function readZip64EndOfCentralDirectory(source: ByteSource, eocdOffset: number): Promise<CentralDirectoryLocation | undefined> {
  const locatorOffset = eocdOffset - RecordSize.zip64Locator;
  const locator = locatorOffset >= 0 ? view(await source.read(locatorOffset, RecordSize.zip64Locator)) : undefined;
  if (!locator || locator.byteLength < RecordSize.zip64Locator || locator.getUint32(0, true) !== Signature.zip64Locator) {
    return undefined;
  }
  const recordOffset = readU64(locator, 8, source.name);
  const record = view(await source.read(recordOffset, RecordSize.zip64EndOfCentralDirectory));
  if (record.byteLength < RecordSize.zip64EndOfCentralDirectory || record.getUint32(0, true) !== Signature.zip64EndOfCentralDirectory) {
    throw new ZipFormatError(`${source.name}: ZIP64 end-of-central-directory record is missing or damaged`);
  }
  return {
    entryCount: readU64(record, 32, source.name),
    size: readU64(record, 40, source.name),
    offset: readU64(record, 48, source.name),
  };
}

/** Says which entries a salvaging parse left out for overlapping (a few named, all counted). */
function withoutOverlaps(directory: CentralDirectory, archiveName: string, onWarning: WarningHandler | undefined): CentralDirectory {
  const left = directory.overlapping;
  if (left.length > 0) {
    const named = left.slice(0, 5).map((name) => JSON.stringify(name)).join(', ');
    onWarning?.(
      warnings.entriesOverlap(
        `${archiveName}: ${left.length} entries share their bytes with another (${named}${left.length > 5 ? ', ...' : ''}; a damaged directory, or a zip bomb): left out, the rest of the log read`,
        { entries: left.slice(0, 100), count: left.length },
        archiveName,
      ),
    );
  }
  return directory;
}
