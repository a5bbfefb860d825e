/** inspect-recover: read, write and recover Inspect AI `.eval` logs. */
export * from './errors.js';
export type { ByteSource } from './bytes/byte-source.js';
export { MemoryByteSource } from './bytes/byte-source.js';
export { FileByteSource } from './bytes/file-byte-source.js';
export { parsePythonJson, stringifyPythonJson } from './json/python-json.js';
export { CompressionMethod, defaultWriteMethod, nodeHasZstd } from './codec/compression-method.js';
export type { ZipEntry } from './zip/zip-entry.js';
export { ZipReader } from './zip/zip-reader.js';
export { ZipWriter, type AddEntryOptions, type ZipWriterOptions } from './zip/zip-writer.js';
export * from './eval/schemas.js';
export * from './eval/entry-names.js';
export { EvalLogReader } from './eval/eval-log-reader.js';
export { EvalLogWriter, type EvalLogWriterOptions, type FinishOptions } from './eval/eval-log-writer.js';
export { summarizeSample } from './eval/sample-summary.js';
export { evalLogStatus, type EvalLogStatus } from './eval/log-status.js';
export type { Storage, StorageStat, WriteOptions } from './storage/storage.js';
export { storageFor } from './storage/storage-for.js';
