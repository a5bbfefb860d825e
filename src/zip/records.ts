import { ZipFormatError } from '../errors.js';

/** Fixed layouts of the zip records we read and write (APPNOTE 6.3.10). */

export const Signature = {
  localHeader: 0x04034b50,
  centralHeader: 0x02014b50,
  endOfCentralDirectory: 0x06054b50,
  zip64EndOfCentralDirectory: 0x06064b50,
  zip64Locator: 0x07064b50,
} as const;

export const RecordSize = {
  localHeader: 30,
  centralHeader: 46,
  endOfCentralDirectory: 22,
  zip64EndOfCentralDirectory: 56,
  zip64Locator: 20,
} as const;

/** A 16- or 32-bit field holding this value means "see the ZIP64 record". */
export const Zip64Sentinel = { u16: 0xffff, u32: 0xffffffff } as const;

export const zip64ExtraId = 0x0001;

/** "Made by" Unix, the upper byte of version-made-by. */
export const madeByUnix = 3 << 8;

export const Flag = {
  dataDescriptor: 1 << 3,
  utf8Name: 1 << 11,
} as const;

export const Version = {
  default: 20,
  zip64: 45,
  /** Python's zipfile refuses entries that need a newer version than this. */
  maxReadableByPython: 63,
} as const;

/** The most an end-of-central-directory record can sit before the end: record + max comment. */
export const maxEndOfCentralDirectorySearch = RecordSize.endOfCentralDirectory + 0xffff;

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a little-endian u64 as a number; a real archive never needs more than 2^53. */
export function readU64(data: DataView, offset: number, archiveName?: string): number {
  const value = data.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    const prefix = archiveName === undefined ? '' : `${archiveName}: `;
    throw new ZipFormatError(`${prefix}a 64-bit size or offset (${value}) is impossibly large`);
  }
  return Number(value);
}

/** The ZIP64 extended-information fields of an extra-field block, in order, if present. */
export function findZip64Extra(extra: Uint8Array): DataView | undefined {
  const data = view(extra);
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = data.getUint16(at, true);
    const size = data.getUint16(at + 2, true);
    if (id === zip64ExtraId) return new DataView(extra.buffer, extra.byteOffset + at + 4, Math.min(size, extra.length - at - 4));
    at += 4 + size;
  }
  return undefined;
}

/** DOS date and time fields for a moment, in local time as Python's zipfile writes them. */
export function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}
