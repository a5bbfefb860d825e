import { once } from 'node:events';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { EntryDataError } from '../errors.js';
import { CompressionMethod, compressionMethodName, nodeHasZstd } from './compression-method.js';

/** Inspect's deflate level. */
const deflateLevel = 5;
/** Inspect's zstd level. */
const zstdLevel = 3;
/**
 * Inspect cuts zstd entries into frames of at most 200 MiB of input, because the viewer's
 * fzstd overflows on larger frames; smaller entries stay one frame, which Inspect's
 * whole-member reader needs (it stops at the first frame).
 */
export const zstdFrameInputSize = 200 * 1024 * 1024;

/**
 * Encodes a stream of bytes with a zip compression method, through Node's native zlib (deflate
 * always; zstd where Node has it), several times faster than a JavaScript encoder.
 */
export function compress(method: number, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  switch (method) {
    case CompressionMethod.stored:
      return passThrough(input);
    case CompressionMethod.deflate:
      return throughZlib(() => zlib.createDeflateRaw({ level: deflateLevel }), input, Number.POSITIVE_INFINITY);
    case CompressionMethod.zstd:
      if (!nodeHasZstd) throw new EntryDataError('zstd encoding needs Node 22.15 or later; use deflate');
      return throughZlib(createZstdCompress, input, zstdFrameInputSize);
    default:
      throw new EntryDataError(`cannot encode ${compressionMethodName(method)}`);
  }
}

/** Above this, data in memory is still compressed as a stream, so the event loop is not held long. */
const wholeCompressLimit = 8 * 1024 * 1024;

/**
 * Compresses bytes already in memory in one synchronous call, which frees zlib's state at once
 * (a stream's waits for the garbage collector); undefined when the data is too large for that.
 */
export function compressWhole(method: number, data: Uint8Array): Uint8Array | undefined {
  if (data.length > wholeCompressLimit) return undefined;
  switch (method) {
    case CompressionMethod.stored:
      return data;
    case CompressionMethod.deflate:
      return zlib.deflateRawSync(data, { level: deflateLevel });
    case CompressionMethod.zstd: {
      if (!nodeHasZstd) throw new EntryDataError('zstd encoding needs Node 22.15 or later; use deflate');
      const { zstdCompressSync, constants } = zlib as unknown as {
        zstdCompressSync(data: Uint8Array, options: object): Uint8Array;
        constants: Record<string, number>;
      };
      return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel!]: zstdLevel } });
    }
    default:
      throw new EntryDataError(`cannot encode ${compressionMethodName(method)}`);
  }
}

async function* passThrough(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* input;
}

function createZstdCompress(): Transform {
  const { createZstdCompress: create, constants } = zlib as unknown as {
    createZstdCompress(options: object): Transform;
    constants: Record<string, number>;
  };
  return create({ params: { [constants.ZSTD_c_compressionLevel!]: zstdLevel } });
}

/**
 * Pipes the input through zlib streams, starting a fresh stream (a new zstd frame) every
 * `frameInputSize` bytes of input; an empty input still gets one (empty) stream.
 */
async function* throughZlib(create: () => Transform, input: AsyncIterable<Uint8Array>, frameInputSize: number): AsyncGenerator<Uint8Array> {
  const output: Uint8Array[] = [];
  let stream: Transform | undefined;
  let streams = 0;
  let streamInput = 0;
  const end = async () => {
    if (!stream) return;
    const ended = once(stream, 'end');
    stream.end();
    await ended;
    stream = undefined;
  };
  const open = () => {
    stream = create();
    stream.on('data', (data: Uint8Array) => output.push(data));
    streams++;
    streamInput = 0;
    return stream;
  };
  for await (let chunk of input) {
    while (chunk.length > 0) {
      const current = stream ?? open();
      const part = chunk.subarray(0, frameInputSize - streamInput);
      chunk = chunk.subarray(part.length);
      streamInput += part.length;
      if (!current.write(part)) await once(current, 'drain');
      if (streamInput === frameInputSize) await end();
      yield* output.splice(0);
    }
  }
  if (streams === 0) open();
  await end();
  yield* output.splice(0);
}
