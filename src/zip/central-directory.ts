import { ZipFormatError } from '../errors.js';
import { RecordSize, Signature, Zip64Sentinel, findZip64Extra, readU64, view } from './records.js';
import type { ZipEntry } from './zip-entry.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const [fnvOffset, fnvPrime] = [0x811c9dc5, 0x01000193];
const readChunk = 1024 * 1024;

/**
 * An archive's central directory, kept as its own bytes with a small index instead of an
 * object per entry (a log of 50,000 samples would otherwise hold 50,000 of them): about 100
 * bytes an entry. Entries are made on demand. When a name occurs more than once, the last
 * entry wins, as in every Inspect reader; the earlier ones stay reachable by position.
 */
export class CentralDirectory {
  /** Positions of entries that a later entry of the same name replaces (rare: kept as a set). */
  private readonly superseded = new Set<number>();
  /** Open-addressing table from name hash to position + 1 (0 is empty), last of each name. */
  private readonly slots: Int32Array;
  private readonly hashes: Uint32Array;
  private readonly data: DataView;

  private constructor(
    private readonly bytes: Uint8Array,
    private readonly recordOffsets: Uint32Array,
    private readonly archiveName: string,
    /** The names of the entries left out for sharing bytes with another (`dropOverlapping`). */
    readonly overlapping: readonly string[] = [],
  ) {
    this.data = view(bytes);
    this.hashes = new Uint32Array(recordOffsets.length);
    let capacity = 16;
    while (capacity < recordOffsets.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    for (let position = 0; position < recordOffsets.length; position++) this.insert(position);
  }

  /**
   * Checks every record (signatures, lengths, ZIP64 extras) and indexes them. Like Python's
   * zipfile, reads records until the bytes are used up: the count in the end record is only 16
   * bits wide and some writers let it wrap or saturate. Entries whose data share bytes are
   * refused, or with `dropOverlapping` left out (named in `overlapping`).
   */
  static parse(bytes: Uint8Array, declaredCount: number, archiveName: string, { dropOverlapping = false }: ParseOptions = {}): CentralDirectory {
    const data = view(bytes);
    const offsets: number[] = [];
    for (let at = 0; at < bytes.length; ) {
      const next = recordEnd(data, at, offsets.length, declaredCount, archiveName);
      if (next > bytes.length) throw new ZipFormatError(`${archiveName}: central directory entry ${offsets.length + 1} is cut short`);
      offsets.push(at);
      decodeEntry(data, bytes, at, archiveName);
      at = next;
    }
    const overlaps = overlappingPositions(data, bytes, offsets, archiveName);
    if (overlaps.size === 0) return new CentralDirectory(bytes, Uint32Array.from(offsets), archiveName);
    const names = [...overlaps].sort((a, b) => a - b).map((position) => decodeEntry(data, bytes, offsets[position]!, archiveName).name);
    if (!dropOverlapping) {
      throw new ZipFormatError(`${archiveName}: entries ${JSON.stringify(names[0])} and ${JSON.stringify(names[1])} overlap (a damaged directory, or a zip bomb)`);
    }
    return new CentralDirectory(bytes, Uint32Array.from(offsets.filter((_, position) => !overlaps.has(position))), archiveName, names);
  }

  /**
   * Reads the directory `size` bytes at `offset` a chunk at a time and keeps only the entries
   * whose names pass `keep`: a look at one or two entries of a large archive then costs the
   * chunk, not the directory.
   */
  static async readKeeping(
    read: (offset: number, length: number) => Promise<Uint8Array>,
    { offset, size, entryCount }: { offset: number; size: number; entryCount: number },
    archiveName: string,
    keep: (name: string) => boolean,
    options: ParseOptions = {},
  ): Promise<CentralDirectory> {
    const kept: Uint8Array[] = [];
    let carried: Uint8Array = new Uint8Array(0);
    let index = 0;
    for (let done = 0; done < size; ) {
      const chunk = await read(offset + done, Math.min(readChunk, size - done));
      if (chunk.length === 0) throw new ZipFormatError(`${archiveName}: truncated zip archive (the central directory runs past the end of the file)`);
      done += chunk.length;
      const bytes = carried.length ? Buffer.concat([carried, chunk]) : chunk;
      const data = view(bytes);
      let at = 0;
      // A record cut by the chunk's end waits for the next chunk.
      while (at + RecordSize.centralHeader <= bytes.length || (done === size && at < bytes.length)) {
        const next = recordEnd(data, at, index, entryCount, archiveName);
        if (next > bytes.length) break;
        const nameStart = at + RecordSize.centralHeader;
        if (keep(utf8.decode(bytes.subarray(nameStart, nameStart + data.getUint16(at + 28, true))))) kept.push(Buffer.from(bytes.subarray(at, next)));
        at = next;
        index++;
      }
      carried = Buffer.from(bytes.subarray(at));
    }
    if (carried.length) throw new ZipFormatError(`${archiveName}: central directory entry ${index + 1} is cut short`);
    return CentralDirectory.parse(Buffer.concat(kept), kept.length, archiveName, options);
  }

  /** Entries in the directory, duplicates included. */
  get count(): number {
    return this.recordOffsets.length;
  }

  entryAt(position: number): ZipEntry {
    return decodeEntry(this.data, this.bytes, this.recordOffsets[position]!, this.archiveName);
  }

  nameAt(position: number): string {
    return utf8.decode(this.nameBytes(position));
  }

  private nameBytes(position: number): Uint8Array {
    const at = this.recordOffsets[position]!;
    const start = at + RecordSize.centralHeader;
    return this.bytes.subarray(start, start + this.data.getUint16(at + 28, true));
  }

  /** `hashName` of the stored name; an ASCII name's bytes are its UTF-16 code units, so hashed undecoded. */
  private storedNameHash(position: number): number {
    const at = this.recordOffsets[position]!;
    const start = at + RecordSize.centralHeader;
    const end = start + this.data.getUint16(at + 28, true);
    let hash = fnvOffset;
    for (let index = start; index < end; index++) {
      const byte = this.bytes[index]!;
      if (byte >= 0x80) return hashName(this.nameAt(position));
      hash = Math.imul(hash ^ byte, fnvPrime);
    }
    return hash >>> 0;
  }

  /** Compares without decoding when the stored name is ASCII (every name Inspect writes). */
  private nameEquals(position: number, name: string): boolean {
    const bytes = this.nameBytes(position);
    if (!isAscii(bytes)) return this.nameAt(position) === name;
    if (bytes.length !== name.length) return false;
    for (let index = 0; index < bytes.length; index++) if (bytes[index] !== name.charCodeAt(index)) return false;
    return true;
  }

  /** Whether a later entry of the same name replaces this one. */
  isSuperseded(position: number): boolean {
    return this.superseded.has(position);
  }

  /** The position of the (last) entry with this name. */
  positionOf(name: string): number | undefined {
    const hash = hashName(name);
    for (let slot = hash & (this.slots.length - 1); this.slots[slot] !== 0; slot = (slot + 1) & (this.slots.length - 1)) {
      const position = this.slots[slot]! - 1;
      if (this.hashes[position] === hash && this.nameEquals(position, name)) return position;
    }
    return undefined;
  }

  private insert(position: number): void {
    const hash = this.storedNameHash(position);
    this.hashes[position] = hash;
    let slot = hash & (this.slots.length - 1);
    for (; this.slots[slot] !== 0; slot = (slot + 1) & (this.slots.length - 1)) {
      const previous = this.slots[slot]! - 1;
      if (this.hashes[previous] === hash && this.nameEquals(previous, this.nameAt(position))) {
        this.superseded.add(previous);
        break;
      }
    }
    this.slots[slot] = position + 1;
  }
}

export interface ParseOptions {
  /** Leave out entries whose data share bytes with another, instead of refusing the directory. */
  dropOverlapping?: boolean;
}

/**
 * The positions of entries whose data share bytes with another: no writer makes them, and a
 * directory of thousands of records pointing at one large entry turns a small file into
 * gigabytes of output (the overlapping zip bomb). Which of two is genuine cannot be told, so
 * both count. Each entry is taken to span at least its header, name and data.
 */
function overlappingPositions(data: DataView, bytes: Uint8Array, offsets: number[], archiveName: string): Set<number> {
  const spans = new Float64Array(offsets.length * 2);
  const order = new Uint32Array(offsets.length);
  for (let position = 0; position < offsets.length; position++) {
    const entry = decodeEntry(data, bytes, offsets[position]!, archiveName);
    spans[position * 2] = entry.localHeaderOffset;
    spans[position * 2 + 1] = entry.localHeaderOffset + RecordSize.localHeader + data.getUint16(offsets[position]! + 28, true) + entry.compressedSize;
    order[position] = position;
  }
  order.sort((a, b) => spans[a * 2]! - spans[b * 2]!);
  const overlapping = new Set<number>();
  // The entry reaching furthest so far: any later start before its end overlaps it.
  let reaching = order[0];
  for (let index = 1; index < order.length; index++) {
    const current = order[index]!;
    if (spans[current * 2]! < spans[reaching! * 2 + 1]!) {
      overlapping.add(current);
      overlapping.add(reaching!);
    }
    if (spans[current * 2 + 1]! > spans[reaching! * 2 + 1]!) reaching = current;
  }
  return overlapping;
}

/** FNV-1a over the name's UTF-16 code units: names are compared as decoded text, as Inspect does. */
function hashName(name: string): number {
  let hash = fnvOffset;
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), fnvPrime);
  return hash >>> 0;
}

/** Where the record at `at` ends, after checking its signature; it may end past the bytes at hand. */
function recordEnd(data: DataView, at: number, index: number, declaredCount: number, archiveName: string): number {
  if (at + RecordSize.centralHeader > data.byteLength || data.getUint32(at, true) !== Signature.centralHeader) {
    throw new ZipFormatError(`${archiveName}: central directory entry ${index + 1} of ${declaredCount} is damaged`);
  }
  return at + RecordSize.centralHeader + data.getUint16(at + 28, true) + data.getUint16(at + 30, true) + data.getUint16(at + 32, true);
}

function isAscii(bytes: Uint8Array): boolean {
  for (let index = 0; index < bytes.length; index++) if (bytes[index]! >= 0x80) return false;
  return true;
}

function decodeEntry(data: DataView, bytes: Uint8Array, at: number, archiveName: string): ZipEntry {
  const nameStart = at + RecordSize.centralHeader;
  const extraStart = nameStart + data.getUint16(at + 28, true);
  const extraLength = data.getUint16(at + 30, true);
  // Inspect decodes names as UTF-8 whether or not flag bit 11 is set; so do we.
  const name = utf8.decode(bytes.subarray(nameStart, extraStart));
  let uncompressedSize = data.getUint32(at + 24, true);
  let compressedSize = data.getUint32(at + 20, true);
  let localHeaderOffset = data.getUint32(at + 42, true);
  if ([uncompressedSize, compressedSize, localHeaderOffset].includes(Zip64Sentinel.u32)) {
    const extra = findZip64Extra(bytes.subarray(extraStart, extraStart + extraLength));
    if (!extra) throw new ZipFormatError(`${archiveName}: entry ${name} needs a ZIP64 extra field and has none`);
    let field = 0;
    const next64 = () => {
      if (field + 8 > extra.byteLength) throw new ZipFormatError(`${archiveName}: entry ${name} has a short ZIP64 extra field`);
      const value = readU64(extra, field, archiveName);
      field += 8;
      return value;
    };
    if (uncompressedSize === Zip64Sentinel.u32) uncompressedSize = next64();
    if (compressedSize === Zip64Sentinel.u32) compressedSize = next64();
    if (localHeaderOffset === Zip64Sentinel.u32) localHeaderOffset = next64();
  }
  return {
    name,
    versionMadeBy: data.getUint16(at + 4, true),
    versionNeeded: data.getUint16(at + 6, true),
    flags: data.getUint16(at + 8, true),
    method: data.getUint16(at + 10, true),
    dosTime: data.getUint16(at + 12, true),
    dosDate: data.getUint16(at + 14, true),
    crc32: data.getUint32(at + 16, true),
    compressedSize,
    uncompressedSize,
    externalAttributes: data.getUint32(at + 38, true),
    localHeaderOffset,
  };
}
