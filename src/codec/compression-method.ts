import zlib from 'node:zlib';

/** Zip compression method ids that Inspect logs use. */
export const CompressionMethod = {
  stored: 0,
  deflate: 8,
  zstd: 93,
} as const;

export type CompressionMethodId = (typeof CompressionMethod)[keyof typeof CompressionMethod];

export function compressionMethodName(method: number): string {
  switch (method) {
    case CompressionMethod.stored:
      return 'stored';
    case CompressionMethod.deflate:
      return 'deflate';
    case CompressionMethod.zstd:
      return 'zstd';
    default: {
      // Methods other zip writers use, named so an "unsupported" message says what the entry is.
      const known: Record<number, string> = { 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 95: 'xz', 98: 'ppmd', 99: 'AES-encrypted' };
      return known[method] === undefined ? `method ${method}` : `method ${method} (${known[method]})`;
    }
  }
}

/** Node's zlib has zstd from 22.15 / 23.8; on Node 20 we cannot encode zstd. */
export const nodeHasZstd = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';

/**
 * What new entries are written with: zstd like current Inspect where Node can encode it,
 * else deflate, which every Inspect version reads.
 */
export const defaultWriteMethod: CompressionMethodId = nodeHasZstd ? CompressionMethod.zstd : CompressionMethod.deflate;
