/**
 * Salvage of an archive cut before its end (a full disk, a partial copy or download): with no
 * end-of-central-directory record there is no directory to read, but each entry still starts
 * with a local header that gives its name and sizes. Walking them from the start rebuilds the
 * directory of every entry that is whole; the walk stops at the first one that is torn.
 */
import type { ByteSource } from '../bytes/byte-source.js';
import { centralHeader } from './central-header.js';
import { Flag, RecordSize, Signature, Version, Zip64Sentinel, findZip64Extra, madeByUnix, readU64, view } from './records.js';

export interface SalvagedDirectory {
  /** Central-directory records for the whole entries, in file order. */
  records: Uint8Array;
  count: number;
  /** Where the walk stopped: the first byte of the torn entry, or of whatever follows the last whole one. */
  stoppedAt: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export async function salvageDirectory(source: ByteSource, archiveSize: number): Promise<SalvagedDirectory> {
  const records: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const header = await source.read(at, RecordSize.localHeader);
    if (header.length < RecordSize.localHeader) break;
    const data = view(header);
    if (data.getUint32(0, true) !== Signature.localHeader) break;
    const flags = data.getUint16(6, true);
    // With a data descriptor the sizes follow the data, so where the entry ends is unknown.
    if (flags & Flag.dataDescriptor) break;
    const nameLength = data.getUint16(26, true);
    const extraLength = data.getUint16(28, true);
    const variable = await source.read(at + RecordSize.localHeader, nameLength + extraLength);
    if (variable.length < nameLength + extraLength) break;
    let compressedSize = data.getUint32(18, true);
    let uncompressedSize = data.getUint32(22, true);
    if (compressedSize === Zip64Sentinel.u32 || uncompressedSize === Zip64Sentinel.u32) {
      // A local ZIP64 extra holds both sizes, uncompressed first (APPNOTE 4.5.3).
      const extra = findZip64Extra(variable.subarray(nameLength));
      if (!extra || extra.byteLength < 16) break;
      uncompressedSize = readU64(extra, 0);
      compressedSize = readU64(extra, 8);
    }
    const end = at + RecordSize.localHeader + nameLength + extraLength + compressedSize;
    if (end > archiveSize) break;
    const versionNeeded = data.getUint16(4, true);
    records.push(
      centralHeader(
        {
          name: utf8.decode(variable.subarray(0, nameLength)),
          versionMadeBy: madeByUnix | Math.max(versionNeeded, Version.default),
          versionNeeded,
          flags,
          method: data.getUint16(8, true),
          dosTime: data.getUint16(10, true),
          dosDate: data.getUint16(12, true),
          crc32: data.getUint32(14, true),
          compressedSize,
          uncompressedSize,
          externalAttributes: 0,
          localHeaderOffset: at,
        },
        false,
      ),
    );
    at = end;
  }
  return { records: Buffer.concat(records), count: records.length, stoppedAt: at };
}
