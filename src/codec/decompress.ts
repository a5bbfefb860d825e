import zlib, { inflateRawSync } from 'node:zlib';
import { Inflate } from 'fflate';
import { Decompress as ZstdDecompress, ZstdErrorCode, decompress as zstdDecompressSync } from 'fzstd';
import { EntryDataError } from '../errors.js';
import { CompressionMethod, compressionMethodName } from './compression-method.js';

const maxDeflateRatio = 1032;
/** Entries that cannot inflate past this are inflated without an output limit. */
const unlimitedInflateBound = 64 * 1024 * 1024;

/** Deflate input is fed in slices so one push can never inflate to more than ~16 MiB. */
const deflateSliceSize = 16 * 1024;
/** A stream is decoded and handed on this much input at a time: at most ~4 MiB of a bomb's output is held at once. */
const streamSliceSize = 4 * 1024;

/**
 * Decodes an entry's compressed bytes as they arrive. Stops with an EntryDataError as soon as
 * the output passes `maxOutputSize` (the size the central directory declares), so a zip bomb
 * cannot exhaust memory; every zstd frame in the stream is decoded, not only the first.
 */
export async function* decompress(
  method: number,
  compressed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxOutputSize: number,
  label: string,
): AsyncGenerator<Uint8Array> {
  let produced = 0;
  const pending: Uint8Array[] = [];
  const accept = (chunk: Uint8Array) => {
    produced += chunk.length;
    if (produced > maxOutputSize) throw pastDeclaredSize(label, maxOutputSize);
    if (chunk.length > 0) pending.push(chunk);
  };
  const decoder = createDecoder(method, accept, label);
  for await (const chunk of compressed) {
    // Pushed and handed on a slice at a time: what one slice decodes to is all that is held.
    for (let at = 0; at < chunk.length; at += streamSliceSize) {
      decoder.push(chunk.length <= streamSliceSize ? chunk : chunk.subarray(at, at + streamSliceSize));
      yield* pending.splice(0);
    }
  }
  decoder.finish();
  yield* pending.splice(0);
}

/**
 * Decodes a small entry held whole in memory, several times faster than the stream. The
 * output can never pass `declaredSize` for deflate (decoded into a buffer of that size), nor
 * an upper bound read from the zstd block headers; returns undefined when that bound is too
 * large to risk, and the caller streams instead. Size and CRC are the caller's to check.
 */
export function decompressWhole(method: number, compressed: Uint8Array, declaredSize: number, label: string): Uint8Array | undefined {
  let output: Uint8Array;
  switch (method) {
    case CompressionMethod.stored:
      output = compressed;
      break;
    case CompressionMethod.deflate:
      // Node's zlib, about twice as fast as fflate here; one byte of room past the declared size
      // tells "more than declared" from "exactly", and stops a bomb at that size.
      try {
        // Deflate expands at most 1032:1: below the bound no limit is needed, and zlib is faster without one.
        const bounded = compressed.length * maxDeflateRatio <= unlimitedInflateBound;
        output = bounded ? inflateRawSync(compressed) : inflateRawSync(compressed, { maxOutputLength: declaredSize + 1 });
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw pastDeclaredSize(label, declaredSize);
        throw new EntryDataError(`${label}: corrupt deflate data (${(error as Error).message})`, error);
      }
      break;
    case CompressionMethod.zstd: {
      const frames = new ZstdFrameGuard(label);
      // Refuses what fzstd would refuse too (a huge window), in the same words, whichever decoder runs.
      frames.scan(compressed);
      // Node 22's decoder stops after the first frame (24's reads them all): it takes single-frame entries only.
      if (nativeZstdDecompress && frames.understood && frames.frameCount === 1 && declaredSize <= wholeZstdOutputLimit) {
        // Node's own zstd (22.15+); one byte past the declared size stops a bomb there.
        try {
          output = nativeZstdDecompress(compressed, { maxOutputLength: declaredSize + 1 });
        } catch (error) {
          if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw pastDeclaredSize(label, declaredSize);
          throw new EntryDataError(`${label}: corrupt zstd data (${(error as Error).message})`, error);
        }
        break;
      }
      if (!frames.understood || frames.outputBound > wholeZstdOutputLimit) return undefined;
      // Into a buffer of the declared size fzstd decodes without its per-block window copies,
      // but it supports that for one frame only. A size mismatch then shows in the CRC.
      output = guardedZstd(label, () =>
        frames.frameCount === 1 ? zstdDecompressSync(compressed, outputBuffer(declaredSize)) : zstdDecompressSync(compressed),
      );
      break;
    }
    default:
      throw new EntryDataError(`${label}: unsupported compression ${compressionMethodName(method)}`);
  }
  if (output.length > declaredSize) throw pastDeclaredSize(label, declaredSize);
  return output;
}

/**
 * An output buffer for fzstd. fzstd tests its buffer argument with `== 1`, which turns a typed
 * array into a comma-joined string of every byte; a primitive conversion that returns 0 makes
 * that test cheap (5x faster decoding of Inspect's small entries) and changes nothing else.
 */
function outputBuffer(size: number): Uint8Array {
  const buffer = new Uint8Array(size);
  Object.defineProperty(buffer, Symbol.toPrimitive, { value: () => 0 });
  return buffer;
}

function pastDeclaredSize(label: string, declaredSize: number): EntryDataError {
  return new EntryDataError(`${label}: decodes past its declared size of ${declaredSize} bytes (corrupt entry or zip bomb)`);
}

/** Node's zstd decoder where it has one (22.15+), for whole single-frame entries; fzstd decodes the rest. */
const nativeZstdDecompress = (zlib as { zstdDecompressSync?: (data: Uint8Array, options: { maxOutputLength: number }) => Buffer }).zstdDecompressSync;

/** Above this many bytes of possible output, zstd is decoded as a stream. */
const wholeZstdOutputLimit = 64 * 1024 * 1024;

interface Decoder {
  push(chunk: Uint8Array): void;
  finish(): void;
}

function createDecoder(method: number, accept: (chunk: Uint8Array) => void, label: string): Decoder {
  switch (method) {
    case CompressionMethod.stored:
      return { push: accept, finish() {} };
    case CompressionMethod.deflate:
      return deflateDecoder(accept, label);
    case CompressionMethod.zstd:
      return zstdDecoder(accept, label);
    default:
      throw new EntryDataError(`${label}: unsupported compression ${compressionMethodName(method)}`);
  }
}

function deflateDecoder(accept: (chunk: Uint8Array) => void, label: string): Decoder {
  const inflate = new Inflate((data) => accept(data));
  const guarded = (push: () => void) => {
    try {
      push();
    } catch (error) {
      if (error instanceof EntryDataError) throw error;
      throw new EntryDataError(`${label}: corrupt deflate data (${(error as Error).message})`, error);
    }
  };
  return {
    push(chunk) {
      for (let start = 0; start < chunk.length; start += deflateSliceSize) {
        guarded(() => inflate.push(chunk.subarray(start, start + deflateSliceSize)));
      }
    },
    finish() {
      guarded(() => inflate.push(new Uint8Array(0), true));
    },
  };
}

function zstdDecoder(accept: (chunk: Uint8Array) => void, label: string): Decoder {
  // fzstd calls back once per block (at most 128 KiB), so `accept` stops a bomb early.
  const zstd = new ZstdDecompress((data) => accept(data));
  const frames = new ZstdFrameGuard(label);
  return {
    push(chunk) {
      if (chunk.length === 0) return;
      frames.scan(chunk);
      guardedZstd(label, () => zstd.push(chunk));
    },
    finish() {
      guardedZstd(label, () => zstd.push(new Uint8Array(0), true));
    },
  };
}

/** Runs an fzstd call, turning its errors into one readable EntryDataError. */
function guardedZstd<T>(label: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof EntryDataError) throw error;
    const code = (error as { code?: number }).code;
    const reason =
      code === ZstdErrorCode.WindowSizeTooLarge
        ? `zstd frame needs a window larger than this reader allows (${maxZstdWindowSize} bytes)`
        : code === ZstdErrorCode.UnexpectedEOF
          ? 'zstd data ends early (truncated)'
          : `corrupt zstd data (${(error as Error).message})`;
    throw new EntryDataError(`${label}: ${reason}`, error);
  }
}

/**
 * The largest window a zstd frame may ask for: libzstd's default decoding limit
 * (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27, 128 MiB), which Python's zstandard and the zstd CLI apply
 * too, so Inspect cannot read such frames either.
 */
export const maxZstdWindowSize = 2 ** 27;

const zstdMagic = 0xfd2fb528;
/** zstd's Block_Maximum_Size: no block decodes to more. */
const maxBlockSize = 128 * 1024;
const skippableMagicMask = 0xfffffff0;
const skippableMagic = 0x184d2a50;

/**
 * Follows the frame and block headers of a zstd stream (without decoding anything) and refuses a
 * frame whose window is over `maxZstdWindowSize` before fzstd sees it: fzstd allocates the whole
 * window up front and copies it after every block (a frame declaring ~2 GiB takes ~2 GiB of memory
 * and seconds per block), and its own limit check overflows for window exponents of 21 and up, so a
 * frame declaring a 2 TiB window is accepted. Anything it does not understand it leaves to fzstd.
 */
class ZstdFrameGuard {
  private readonly header: number[] = [];
  private state: 'frame' | 'block' | 'off' = 'frame';
  /** Bytes to pass over: block contents, checksums, skippable frames. */
  private skip = 0;
  private checksum = false;
  private window = 0;
  /** The most the blocks seen so far can decode to: exact for raw and RLE blocks, the block limit for compressed ones. */
  outputBound = 0;
  frameCount = 0;

  constructor(private readonly label: string) {}

  /** Every header so far was followed; when not, `outputBound` means nothing. */
  get understood(): boolean {
    return this.state !== 'off';
  }

  scan(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length && this.state !== 'off'; ) {
      if (this.skip > 0) {
        const passed = Math.min(this.skip, chunk.length - at);
        this.skip -= passed;
        at += passed;
        continue;
      }
      this.header.push(chunk[at++]!);
      if (this.state === 'frame') this.frameHeader();
      else this.blockHeader();
    }
  }

  private frameHeader(): void {
    const h = this.header;
    if (h.length < 5) return;
    const magic = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
    if ((magic & skippableMagicMask) >>> 0 === skippableMagic) {
      if (h.length < 8) return;
      this.skip = (h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24)) >>> 0;
      h.length = 0;
      return;
    }
    const descriptor = h[4]!;
    if (magic !== zstdMagic || descriptor & 0x08) {
      this.state = 'off'; // not a frame fzstd can read either: it reports the error
      return;
    }
    const singleSegment = (descriptor >> 5) & 1;
    const contentSizeFlag = descriptor >> 6;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
    const contentSizeBytes = contentSizeFlag ? 1 << contentSizeFlag : singleSegment;
    const contentSizeAt = 5 + (singleSegment ? 0 : 1) + dictionaryBytes;
    if (h.length < contentSizeAt + contentSizeBytes) return;
    let window: number;
    if (singleSegment) {
      // The window is the content size (2-byte sizes are stored minus 256).
      window = contentSizeBytes === 2 ? 256 : 0;
      for (let i = 0; i < contentSizeBytes; i++) window += h[contentSizeAt + i]! * 2 ** (8 * i);
    } else {
      const windowDescriptor = h[5]!;
      const base = 2 ** (10 + (windowDescriptor >> 3));
      window = base + (base / 8) * (windowDescriptor & 7);
    }
    if (window > maxZstdWindowSize) {
      this.state = 'off';
      throw new EntryDataError(
        `${this.label}: zstd frame declares a ${window}-byte window, over the ${maxZstdWindowSize}-byte limit (zstd's own default)`,
      );
    }
    this.checksum = (descriptor & 0x04) !== 0;
    this.window = window;
    this.frameCount++;
    h.length = 0;
    this.state = 'block';
  }

  private blockHeader(): void {
    const h = this.header;
    if (h.length < 3) return;
    const header = h[0]! | (h[1]! << 8) | (h[2]! << 16);
    h.length = 0;
    const type = (header >> 1) & 3;
    if (type === 3) {
      this.state = 'off'; // reserved block type: fzstd reports it
      return;
    }
    this.skip = type === 1 ? 1 : header >>> 3;
    this.outputBound += type === 2 ? Math.min(maxBlockSize, this.window) : header >>> 3;
    if (header & 1) {
      if (this.checksum) this.skip += 4;
      this.state = 'frame';
    }
  }
}
