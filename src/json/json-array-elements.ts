import { JsonFormatError } from '../errors.js';

const [quote, backslash, comma, openBracket, closeBracket, openBrace, closeBrace] = [0x22, 0x5c, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d];
/** Elements are handed on in batches of about this many characters. */
const batchCharacters = 256 * 1024;
const isWhitespace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

export interface ArrayElementOptions {
  /** Elements longer than this (in bytes) are not kept, only reported to `onOversize`: one crafted row must not be held whole. */
  maxElementBytes?: number;
  /** An element left out for its size: its index (from 0) and its length in bytes. */
  onOversize?: (index: number, bytes: number) => void;
}

/**
 * The elements of a top-level JSON array, read from chunks of UTF-8, as their texts, a batch at
 * a time: a journal entry of thousands of sample summaries is then never parsed, or held as
 * objects, whole. Only the structure is scanned here (strings and their escapes, nesting, the
 * commas between elements); the caller parses the elements, which also catches what the scan
 * lets through.
 */
export async function* jsonArrayElements(chunks: AsyncIterable<Uint8Array>, what: string, { maxElementBytes = Number.POSITIVE_INFINITY, onOversize }: ArrayElementOptions = {}): AsyncGenerator<string[]> {
  const invalid = (reason: string) => new JsonFormatError(`${what} is not a valid JSON array: ${reason}`);
  let depth = 0;
  let inString = false;
  let escaped = false;
  let closed = false;
  let elements = 0;
  /** The current element's bytes from earlier chunks, and how many there were (counted on once it is over the limit, and no longer kept). */
  let carried: Uint8Array[] = [];
  let carriedBytes = 0;
  /** Elements complete but not yet handed on: small chunks' elements are gathered into one batch. */
  let completed: string[] = [];
  let completedLength = 0;
  for await (const chunk of chunks) {
    let elementStart = 0;
    for (let at = 0; at < chunk.length; at++) {
      const byte = chunk[at]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === backslash) escaped = true;
        else if (byte === quote) inString = false;
        // Most of an element is string content: jump to the next quote or backslash.
        else at = nextQuoteOrBackslash(chunk, at) - 1;
        continue;
      }
      if (closed) {
        if (!isWhitespace(byte)) throw invalid('text after the closing bracket');
      } else if (depth === 0) {
        if (byte === openBracket) {
          depth = 1;
          elementStart = at + 1;
        } else if (!isWhitespace(byte)) {
          throw invalid('it does not start with [');
        }
      } else if (byte === quote) {
        inString = true;
      } else if (byte === openBracket || byte === openBrace) {
        depth++;
      } else if (depth === 1 && (byte === comma || byte === closeBracket)) {
        const length = carriedBytes + at - elementStart;
        const oversize = length > maxElementBytes;
        if (!oversize) carried.push(chunk.subarray(elementStart, at));
        const text = oversize ? '' : Buffer.concat(carried).toString('utf8').trim();
        carried = [];
        carriedBytes = 0;
        elementStart = at + 1;
        if (oversize) {
          onOversize?.(elements++, length);
          if (byte === closeBracket) {
            depth = 0;
            closed = true;
          }
        } else if (byte === closeBracket) {
          depth = 0;
          closed = true;
          if (text) completed.push(text);
          else if (elements > 0) throw invalid('a comma before the closing bracket');
        } else {
          if (!text) throw invalid(`element ${elements + 1} is empty`);
          elements++;
          completed.push(text);
          completedLength += text.length;
          if (completedLength >= batchCharacters) {
            yield completed;
            completed = [];
            completedLength = 0;
          }
        }
      } else if (byte === closeBracket || byte === closeBrace) {
        if (--depth < 1) throw invalid('its brackets do not balance');
      }
    }
    if (depth > 0 && elementStart < chunk.length) {
      carriedBytes += chunk.length - elementStart;
      // Copied: the chunk may be a buffer its producer reuses.
      if (carriedBytes <= maxElementBytes) carried.push(Buffer.from(chunk.subarray(elementStart)));
      else carried = [];
    }
  }
  if (!closed) throw invalid(depth === 0 && !inString ? 'no array' : 'it ends before its closing bracket');
  if (completed.length) yield completed;
}

function nextQuoteOrBackslash(chunk: Uint8Array, from: number): number {
  const quoteAt = chunk.indexOf(quote, from);
  const limit = quoteAt === -1 ? chunk.length : quoteAt;
  for (let at = from; at < limit; at++) if (chunk[at] === backslash) return at;
  return limit;
}
