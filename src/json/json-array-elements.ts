import { JsonFormatError } from '../errors.js';

const [quote, backslash, comma] = [0x22, 0x5c, 0x2c];
const opening = new Set([0x5b, 0x7b]); // [ {
const closing = new Set([0x5d, 0x7d]); // ] }
const whitespace = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The elements of a top-level JSON array, read from chunks of UTF-8, as the text of one element
 * at a time: a journal entry of thousands of sample summaries is then never parsed, or held as
 * objects, whole. Only the structure is scanned here (strings and their escapes, nesting, the
 * commas between elements); the caller parses each element, which also catches what the scan
 * lets through.
 */
export async function* jsonArrayElements(chunks: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<string> {
  const invalid = (reason: string) => new JsonFormatError(`${what} is not a valid JSON array: ${reason}`);
  let depth = 0;
  let inString = false;
  let escaped = false;
  let closed = false;
  let elements = 0;
  /** The current element's bytes from earlier chunks. */
  let carried: Uint8Array[] = [];
  for await (const chunk of chunks) {
    let elementStart = 0;
    for (let at = 0; at < chunk.length; at++) {
      const byte = chunk[at]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === backslash) escaped = true;
        else if (byte === quote) inString = false;
        continue;
      }
      if (closed) {
        if (!whitespace.has(byte)) throw invalid('text after the closing bracket');
      } else if (depth === 0) {
        if (byte === 0x5b) {
          depth = 1;
          elementStart = at + 1;
        } else if (!whitespace.has(byte)) {
          throw invalid('it does not start with [');
        }
      } else if (byte === quote) {
        inString = true;
      } else if (opening.has(byte)) {
        depth++;
      } else if (depth === 1 && (byte === comma || byte === 0x5d)) {
        carried.push(chunk.subarray(elementStart, at));
        const text = Buffer.concat(carried).toString('utf8').trim();
        carried = [];
        elementStart = at + 1;
        if (byte === 0x5d) {
          depth = 0;
          closed = true;
          if (text) yield text;
          else if (elements > 0) throw invalid('a comma before the closing bracket');
        } else {
          if (!text) throw invalid(`element ${elements + 1} is empty`);
          elements++;
          yield text;
        }
      } else if (closing.has(byte)) {
        if (--depth < 1) throw invalid('its brackets do not balance');
      }
    }
    // Copied: the chunk may be a buffer its producer reuses.
    if (depth > 0 && elementStart < chunk.length) carried.push(Buffer.from(chunk.subarray(elementStart)));
  }
  if (!closed) throw invalid(depth === 0 && !inString ? 'no array' : 'it ends before its closing bracket');
}
