/**
 * A minimal, independent view of a zip archive's bytes for building damaged or unusual
 * inputs: find an entry's local header, central header and data, and patch their fields.
 * Handles archives without ZIP64 end records or an archive comment (what the tests build).
 */

export interface RawEntryLocation {
  name: string;
  centralOffset: number;
  localOffset: number;
  dataOffset: number;
  compressedSize: number;
}

export interface CentralDirectoryBounds {
  offset: number;
  size: number;
  endOffset: number;
}

export function centralDirectoryBounds(bytes: Uint8Array): CentralDirectoryBounds {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const endOffset = data.length - 22;
  if (endOffset < 0 || data.readUInt32LE(endOffset) !== 0x06054b50) throw new Error('zip-patch: no plain end record at the end');
  return { offset: data.readUInt32LE(endOffset + 16), size: data.readUInt32LE(endOffset + 12), endOffset };
}

export function locateEntries(bytes: Uint8Array): RawEntryLocation[] {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { offset, size } = centralDirectoryBounds(bytes);
  const entries: RawEntryLocation[] = [];
  for (let at = offset; at < offset + size; ) {
    if (data.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip-patch: no central header at ${at}`);
    const nameLength = data.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + data.readUInt16LE(at + 30) + data.readUInt16LE(at + 32);
    const name = data.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const localOffset = data.readUInt32LE(at + 42);
    if (data.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`zip-patch: no local header at ${localOffset}`);
    const dataOffset = localOffset + 30 + data.readUInt16LE(localOffset + 26) + data.readUInt16LE(localOffset + 28);
    entries.push({ name, centralOffset: at, localOffset, dataOffset, compressedSize: data.readUInt32LE(at + 20) });
    at = next;
  }
  return entries;
}

/** The last entry with this name (as readers resolve names). */
export function locateEntry(bytes: Uint8Array, name: string): RawEntryLocation {
  const found = locateEntries(bytes).filter((entry) => entry.name === name).pop();
  if (!found) throw new Error(`zip-patch: no entry ${name}`);
  return found;
}

/** The entry's stored (compressed) bytes. */
export function rawEntryData(bytes: Uint8Array, name: string): Buffer {
  const entry = locateEntry(bytes, name);
  return Buffer.from(bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize));
}

export interface EntryPatch {
  method?: number;
  crc32?: number;
  uncompressedSize?: number;
  compressedSize?: number;
}

/** A copy of the archive with fields of one entry changed in both its local and central header. */
export function patchEntry(bytes: Uint8Array, name: string, patch: EntryPatch): Buffer {
  const copy = Buffer.from(bytes);
  const entry = locateEntry(copy, name);
  const set = (local: number, central: number, value: number | undefined, width: 2 | 4) => {
    if (value === undefined) return;
    for (const at of [entry.localOffset + local, entry.centralOffset + central]) {
      if (width === 2) copy.writeUInt16LE(value, at);
      else copy.writeUInt32LE(value >>> 0, at);
    }
  };
  set(8, 10, patch.method, 2);
  set(14, 16, patch.crc32, 4);
  set(18, 20, patch.compressedSize, 4);
  set(22, 24, patch.uncompressedSize, 4);
  return copy;
}
