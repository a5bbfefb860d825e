import { once } from 'node:events';
import zlib from 'node:zlib';
import { Deflate } from 'fflate';
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

/** Encodes a stream of bytes with a zip compression method. */
export function compress(method: number, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  switch (method) {
    case CompressionMethod.stored:
      return passThrough(input);
    case CompressionMethod.deflate:
      return deflate(input);
    case CompressionMethod.zstd:
      if (!nodeHasZstd) throw new EntryDataError('zstd encoding needs Node 22.15 or later; use deflate');
      return zstd(input);
    default:
      throw new EntryDataError(`cannot encode ${compressionMethodName(method)}`);
  }
}

async function* passThrough(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* input;
}

async function* deflate(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const output: Uint8Array[] = [];
  const deflater = new Deflate({ level: deflateLevel }, (data) => {
    if (data.length > 0) output.push(data);
  });
  for await (const chunk of input) {
    deflater.push(chunk);
    yield* output.splice(0);
  }
  deflater.push(new Uint8Array(0), true);
  yield* output.splice(0);
}

async function* zstd(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const createZstdCompress = (zlib as unknown as { createZstdCompress(options: object): zlib.Zlib & NodeJS.ReadWriteStream })
    .createZstdCompress;
  const params = { [(zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel!]: zstdLevel };
  let frame: (zlib.Zlib & NodeJS.ReadWriteStream) | undefined;
  let frameInput = 0;
  const output: Uint8Array[] = [];
  const endFrame = async () => {
    if (!frame) return;
    const ended = once(frame, 'end');
    frame.end();
    await ended;
    frame = undefined;
  };
  for await (let chunk of input) {
    while (chunk.length > 0) {
      if (!frame) {
        frame = createZstdCompress({ params });
        frame.on('data', (data: Uint8Array) => output.push(data));
        frameInput = 0;
      }
      const part = chunk.subarray(0, zstdFrameInputSize - frameInput);
      chunk = chunk.subarray(part.length);
      frameInput += part.length;
      if (!frame.write(part)) await once(frame, 'drain');
      if (frameInput === zstdFrameInputSize) await endFrame();
      yield* output.splice(0);
    }
  }
  // An empty entry still needs one (empty) frame; a full last frame needs no empty follower.
  if (!frame && frameInput === 0) {
    frame = createZstdCompress({ params });
    frame.on('data', (data: Uint8Array) => output.push(data));
  }
  await endFrame();
  yield* output.splice(0);
}
