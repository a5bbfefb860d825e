/**
 * Whether bytes are a JSON document that Python's `json.loads` reads (how Inspect reads a log's
 * entries), checked as they stream by, without building anything: UTF-8 (encoded surrogates
 * allowed, as Python decodes with `surrogatepass`), JSON's grammar with Python's extra tokens
 * (`NaN`, `Infinity`, `-Infinity`), no raw control characters in strings (Python's strict mode),
 * one value and then only white space, and nesting within what Python's recursive decoder
 * reaches (about 994 levels at the top of a stack; less under a reader's own frames).
 */
import { JsonFormatError } from '../errors.js';

/** The deepest nesting accepted: Python's 1000-frame limit, less room for the frames of the reader that calls `json.loads`. */
export const pythonJsonMaxDepth = 900;

const enum State {
  Value,
  AfterValue,
  KeyOrClose,
  Key,
  Colon,
  ValueOrClose,
  StringBody,
  Escape,
  Unicode,
  Literal,
  NumberMinus,
  NumberZero,
  NumberInt,
  NumberDot,
  NumberFraction,
  NumberE,
  NumberESign,
  NumberExponent,
}

const byteOrderMark = [0xef, 0xbb, 0xbf];

/** 1 for a byte that stands for itself inside a string: printable ASCII but the quote and the backslash. */
const plainStringByte = new Uint8Array(256);
for (let byte = 0x20; byte < 0x80; byte++) plainStringByte[byte] = byte === 0x22 || byte === 0x5c ? 0 : 1;

/** Characters after the first of each literal Python accepts. */
const literals: Record<number, string> = { 0x74: 'rue', 0x66: 'alse', 0x6e: 'ull', 0x4e: 'aN', 0x49: 'nfinity' };

export class PythonJsonScan {
  private state = State.Value;
  /** 1 for an object, 2 for an array, per open container. */
  private readonly stack = new Uint8Array(pythonJsonMaxDepth + 1);
  private depth = 0;
  /** In a string: whether it is a key (a colon follows) and how many UTF-8 continuation bytes are due. */
  private stringIsKey = false;
  private continuation = 0;
  /** The second byte of a 3- or 4-byte sequence has a narrower range (no overlong forms, nothing past U+10FFFF). */
  private continuationLow = 0x80;
  private continuationHigh = 0xbf;
  private hexDigits = 0;
  private literal = '';
  private literalAt = 0;
  private offset = 0;
  /** How much of a leading UTF-8 byte order mark has been read (Python skips one: it decodes bytes as utf-8-sig); 3 once past it. */
  private bomAt = 0;

  constructor(private readonly what: string) {}

  push(bytes: Uint8Array): void {
    let index = this.skipByteOrderMark(bytes);
    const length = bytes.length;
    const stack = this.stack;
    // The state lives in locals while a chunk is scanned (one function, no calls per byte: what
    // the JIT makes fastest), and is stored back for the next chunk.
    let { state, depth, stringIsKey, continuation, continuationLow, continuationHigh, hexDigits, literal, literalAt } = this;
    scan: for (; index < length; index++) {
      let byte = bytes[index]!;
      switch (state) {
        case State.StringBody:
          if (continuation > 0) {
            if (byte < continuationLow || byte > continuationHigh) this.fail(index, 'bytes that are not UTF-8');
            continuationLow = 0x80;
            continuationHigh = 0xbf;
            continuation--;
            break;
          }
          // Most of a document is plain ASCII inside strings: passed over here, a byte a lookup.
          while (plainStringByte[byte] === 1) {
            if (++index === length) break scan;
            byte = bytes[index]!;
          }
          if (byte === 0x22) state = stringIsKey ? State.Colon : State.AfterValue;
          else if (byte === 0x5c) state = State.Escape;
          else if (byte < 0x20) this.fail(index, 'a control character inside a string');
          else if (byte >= 0xc2 && byte <= 0xdf) continuation = 1;
          else if (byte >= 0xe0 && byte <= 0xef) {
            continuation = 2;
            if (byte === 0xe0) continuationLow = 0xa0;
          } else if (byte >= 0xf0 && byte <= 0xf4) {
            continuation = 3;
            if (byte === 0xf0) continuationLow = 0x90;
            if (byte === 0xf4) continuationHigh = 0x8f;
          } else this.fail(index, 'bytes that are not UTF-8');
          break;
        case State.Escape:
          if (byte === 0x75) {
            state = State.Unicode;
            hexDigits = 0;
          } else if (byte === 0x22 || byte === 0x5c || byte === 0x2f || byte === 0x62 || byte === 0x66 || byte === 0x6e || byte === 0x72 || byte === 0x74) {
            state = State.StringBody;
          } else {
            this.fail(index, 'an invalid escape in a string');
          }
          break;
        case State.Unicode:
          if (!isHex(byte)) this.fail(index, 'an invalid \\u escape in a string');
          if (++hexDigits === 4) state = State.StringBody;
          break;
        case State.Literal:
          if (literalAt < literal.length) {
            if (byte !== literal.charCodeAt(literalAt++)) this.fail(index, 'an unknown word where a value belongs');
            break;
          }
          // The word is whole: this byte follows the value.
          state = State.AfterValue;
          index--;
          break;
        case State.NumberMinus:
          if (byte === 0x30) state = State.NumberZero;
          else if (byte >= 0x31 && byte <= 0x39) state = State.NumberInt;
          else if (byte === 0x49) {
            state = State.Literal;
            literal = 'nfinity';
            literalAt = 0;
          }
          else this.fail(index, 'a malformed number');
          break;
        case State.NumberInt:
        case State.NumberFraction:
        case State.NumberExponent:
          while (byte >= 0x30 && byte <= 0x39) {
            if (++index === length) break scan;
            byte = bytes[index]!;
          }
          if (state !== State.NumberExponent && (byte === 0x65 || byte === 0x45)) state = State.NumberE;
          else if (state === State.NumberInt && byte === 0x2e) state = State.NumberDot;
          else {
            // The number is whole: this byte follows the value.
            state = State.AfterValue;
            index--;
          }
          break;
        case State.NumberZero:
          if (byte === 0x2e) state = State.NumberDot;
          else if (byte === 0x65 || byte === 0x45) state = State.NumberE;
          else {
            state = State.AfterValue;
            index--;
          }
          break;
        case State.NumberDot:
          if (byte >= 0x30 && byte <= 0x39) state = State.NumberFraction;
          else this.fail(index, 'a malformed number');
          break;
        case State.NumberE:
          if (byte === 0x2b || byte === 0x2d) state = State.NumberESign;
          else if (byte >= 0x30 && byte <= 0x39) state = State.NumberExponent;
          else this.fail(index, 'a malformed number');
          break;
        case State.NumberESign:
          if (byte >= 0x30 && byte <= 0x39) state = State.NumberExponent;
          else this.fail(index, 'a malformed number');
          break;
        default:
          // Between tokens: white space, punctuation, or the start of a value.
          if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) break;
          if (state === State.AfterValue) {
            if (depth === 0) this.fail(index, 'more data after the document');
            const container = stack[depth - 1];
            if (byte === 0x2c) state = container === 1 ? State.Key : State.Value;
            else if ((byte === 0x7d && container === 1) || (byte === 0x5d && container === 2)) depth--;
            else this.fail(index, "a missing ',' or closing bracket");
          } else if (state === State.Colon) {
            if (byte !== 0x3a) this.fail(index, "a missing ':' after an object key");
            state = State.Value;
          } else if (state === State.KeyOrClose || state === State.Key) {
            if (state === State.KeyOrClose && byte === 0x7d) {
              state = State.AfterValue;
              depth--;
            } else if (byte !== 0x22) this.fail(index, 'an object key that is not a string');
            else {
              state = State.StringBody;
              stringIsKey = true;
            }
          } else if (state === State.ValueOrClose && byte === 0x5d) {
            state = State.AfterValue;
            depth--;
          } else if (byte === 0x22) {
            state = State.StringBody;
            stringIsKey = false;
          } else if (byte === 0x7b || byte === 0x5b) {
            if (depth >= pythonJsonMaxDepth) this.fail(index, `it nests deeper than ${pythonJsonMaxDepth} levels, more than Python's json reads`);
            stack[depth++] = byte === 0x7b ? 1 : 2;
            state = byte === 0x7b ? State.KeyOrClose : State.ValueOrClose;
          } else if (byte === 0x2d) state = State.NumberMinus;
          else if (byte === 0x30) state = State.NumberZero;
          else if (byte >= 0x31 && byte <= 0x39) state = State.NumberInt;
          else if (literals[byte] !== undefined) {
            state = State.Literal;
            literal = literals[byte]!;
            literalAt = 0;
          }
          else this.fail(index, 'an unexpected character where a value belongs');
      }
    }
    this.state = state;
    this.depth = depth;
    this.stringIsKey = stringIsKey;
    this.continuation = continuation;
    this.continuationLow = continuationLow;
    this.continuationHigh = continuationHigh;
    this.hexDigits = hexDigits;
    this.literal = literal;
    this.literalAt = literalAt;
    this.offset += length;
  }

  /** Throws unless the bytes pushed so far are one whole document. */
  finish(): void {
    if (this.state === State.NumberZero || this.state === State.NumberInt || this.state === State.NumberFraction || this.state === State.NumberExponent) {
      this.state = State.AfterValue;
    }
    if (this.state === State.Literal && this.literalAt === this.literal.length) this.state = State.AfterValue;
    if (this.state !== State.AfterValue || this.depth !== 0) this.fail(this.offset, this.offset === 0 ? 'it is empty' : 'it ends in the middle of a value');
  }

  /** Passes over a leading UTF-8 byte order mark (Python skips one: it decodes bytes as utf-8-sig); where the document starts. */
  private skipByteOrderMark(bytes: Uint8Array): number {
    let index = 0;
    for (; index < bytes.length && this.bomAt < 3; index++) {
      if (bytes[index] === byteOrderMark[this.bomAt]) this.bomAt++;
      else if (this.bomAt > 0) this.fail(index, 'bytes that are not UTF-8');
      else {
        this.bomAt = 3;
        break;
      }
    }
    return index;
  }

  private fail(index: number, why: string): never {
    throw new JsonFormatError(`${this.what} is not JSON that Python reads: ${why} (at byte ${this.offset + index})`);
  }
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46);
}
