import assert from 'node:assert/strict';
import { FileByteSource } from '../../src/bytes/file-byte-source.js';
import { ZipReader } from '../../src/zip/zip-reader.js';

/** Opens an archive on disk with our reader, runs `use`, and closes the reader. */
export async function withReader<T>(path: string, use: (reader: ZipReader) => Promise<T>): Promise<T> {
  const source = new FileByteSource(path);
  // When open fails the source is still the caller's to close (as EvalLogReader does).
  const reader = await ZipReader.open(source).catch(async (error: unknown) => {
    await source.close();
    throw error;
  });
  try {
    return await use(reader);
  } finally {
    await reader.close();
  }
}

/** Every entry's decoded bytes, by name, last duplicate winning. */
export async function readAll(path: string): Promise<Map<string, Buffer>> {
  return withReader(path, async (reader) => {
    const result = new Map<string, Buffer>();
    for (const entry of reader.entries) result.set(entry.name, Buffer.from(await reader.bytes(entry)));
    return result;
  });
}

/**
 * Runs `action`, which must fail with an error of `type` whose message is one line and matches
 * every pattern; returns the error for further checks.
 */
export async function expectFailure<E extends Error>(
  action: () => Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  ...patterns: (RegExp | string)[]
): Promise<E> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a ${type.name}, but nothing was thrown`);
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`);
  assert.doesNotMatch(caught.message, /[\r\n]/, `message is not one line: ${JSON.stringify(caught.message)}`);
  for (const pattern of patterns) {
    if (typeof pattern === 'string') assert.ok(caught.message.includes(pattern), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(pattern)}`);
    else assert.match(caught.message, pattern);
  }
  return caught;
}

/** Deterministic, poorly compressible bytes (a xorshift stream). */
export function noise(length: number, seed = 0x9e3779b9): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Deterministic JSON-like text that compresses the way real sample entries do. */
export function sampleText(length: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const part = `{"id":${i},"epoch":1,"input":"question ${(i * 7919) % 1013}","score":${((i * 37) % 100) / 10},"tags":["t${i % 17}"]}\n`;
    parts.push(part);
    size += part.length;
  }
  return parts.join('').slice(0, length);
}
