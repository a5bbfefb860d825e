import { RecordSize, Signature, Version, Zip64Sentinel, madeByUnix, zip64ExtraId } from './records.js';
import type { ZipEntry } from './zip-entry.js';

/** The central-directory record of an entry; ZIP64 fields only for values that do not fit, or all when forced. */
export function centralHeader(entry: ZipEntry, forceZip64: boolean): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  // ZIP64 fields go in the extra, in this order, only for values that do not fit (or all, forced).
  const large = [entry.uncompressedSize, entry.compressedSize, entry.localHeaderOffset].map(
    (value) => forceZip64 || value >= Zip64Sentinel.u32,
  );
  const zip64Values = [entry.uncompressedSize, entry.compressedSize, entry.localHeaderOffset].filter((_, i) => large[i]);
  const extraSize = zip64Values.length ? 4 + 8 * zip64Values.length : 0;
  const header = Buffer.alloc(RecordSize.centralHeader + name.length + extraSize);
  header.writeUInt32LE(Signature.centralHeader, 0);
  header.writeUInt16LE(extraSize ? madeByUnix | Version.zip64 : entry.versionMadeBy, 4);
  header.writeUInt16LE(extraSize ? Version.zip64 : entry.versionNeeded, 6);
  header.writeUInt16LE(entry.flags, 8);
  header.writeUInt16LE(entry.method, 10);
  header.writeUInt16LE(entry.dosTime, 12);
  header.writeUInt16LE(entry.dosDate, 14);
  header.writeUInt32LE(entry.crc32, 16);
  header.writeUInt32LE(large[1] ? Zip64Sentinel.u32 : entry.compressedSize, 20);
  header.writeUInt32LE(large[0] ? Zip64Sentinel.u32 : entry.uncompressedSize, 24);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt16LE(extraSize, 30);
  header.writeUInt32LE(entry.externalAttributes, 38);
  header.writeUInt32LE(large[2] ? Zip64Sentinel.u32 : entry.localHeaderOffset, 42);
  header.set(name, RecordSize.centralHeader);
  if (extraSize) {
    let at = RecordSize.centralHeader + name.length;
    header.writeUInt16LE(zip64ExtraId, at);
    header.writeUInt16LE(extraSize - 4, at + 2);
    for (const value of zip64Values) header.writeBigUInt64LE(BigInt(value), (at += 8) - 4);
  }
  return header;
}
