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
    let index = 0;
    for (; index < bytes.length && this.bomAt < 3; index++) {
      if (bytes[index] === byteOrderMark[this.bomAt]) this.bomAt++;
      else if (this.bomAt > 0) this.fail(index, 'bytes that are not UTF-8');
      else {
        this.bomAt = 3;
        break;
      }
    }
    const length = bytes.length;
    for (; index < length; index++) {
      // Most of a document is plain ASCII inside strings: passed over here, a byte a comparison or four.
      if (this.state === State.StringBody && this.continuation === 0) {
        while (plainStringByte[bytes[index]!] === 1) if (++index === length) break;
        if (index === length) break;
      } else if (this.state === State.NumberInt || this.state === State.NumberFraction || this.state === State.NumberExponent) {
        let byte = bytes[index]!;
        while (byte >= 0x30 && byte <= 0x39) {
          if (++index === length) break;
          byte = bytes[index]!;
        }
        if (index === length) break;
      }
      this.byte(bytes[index]!, index);
    }
    this.offset += length;
  }

  /** Throws unless the bytes pushed so far are one whole document. */
  finish(): void {
    if (this.state === State.NumberZero || this.state === State.NumberInt || this.state === State.NumberFraction || this.state === State.NumberExponent) {
      this.state = State.AfterValue;
    }
    if (this.state === State.Literal && this.literalAt === this.literal.length) this.closeLiteral();
    if (this.state !== State.AfterValue || this.depth !== 0) this.fail(this.offset, this.offset === 0 ? 'it is empty' : 'it ends in the middle of a value');
  }

  private byte(byte: number, index: number): void {
    switch (this.state) {
      case State.StringBody:
        return this.stringByte(byte, index);
      case State.Escape:
        if (byte === 0x75) {
          this.state = State.Unicode;
          this.hexDigits = 0;
        } else if (byte === 0x22 || byte === 0x5c || byte === 0x2f || byte === 0x62 || byte === 0x66 || byte === 0x6e || byte === 0x72 || byte === 0x74) {
          this.state = State.StringBody;
        } else {
          this.fail(index, 'an invalid escape in a string');
        }
        return;
      case State.Unicode:
        if (!isHex(byte)) this.fail(index, 'an invalid \\u escape in a string');
        if (++this.hexDigits === 4) this.state = State.StringBody;
        return;
      case State.Literal:
        if (this.literalAt < this.literal.length) {
          if (byte !== this.literal.charCodeAt(this.literalAt++)) this.fail(index, 'an unknown word where a value belongs');
          return;
        }
        this.closeLiteral();
        return this.byte(byte, index);
      case State.NumberMinus:
        if (byte === 0x30) this.state = State.NumberZero;
        else if (byte >= 0x31 && byte <= 0x39) this.state = State.NumberInt;
        else if (byte === 0x49) this.startLiteral('nfinity');
        else this.fail(index, 'a malformed number');
        return;
      case State.NumberZero:
      case State.NumberInt:
        if (this.state === State.NumberInt && byte >= 0x30 && byte <= 0x39) return;
        if (byte === 0x2e) this.state = State.NumberDot;
        else if (byte === 0x65 || byte === 0x45) this.state = State.NumberE;
        else return this.afterNumber(byte, index);
        return;
      case State.NumberDot:
        if (byte >= 0x30 && byte <= 0x39) this.state = State.NumberFraction;
        else this.fail(index, 'a malformed number');
        return;
      case State.NumberFraction:
        if (byte >= 0x30 && byte <= 0x39) return;
        if (byte === 0x65 || byte === 0x45) this.state = State.NumberE;
        else return this.afterNumber(byte, index);
        return;
      case State.NumberE:
        if (byte === 0x2b || byte === 0x2d) this.state = State.NumberESign;
        else if (byte >= 0x30 && byte <= 0x39) this.state = State.NumberExponent;
        else this.fail(index, 'a malformed number');
        return;
      case State.NumberESign:
        if (byte >= 0x30 && byte <= 0x39) this.state = State.NumberExponent;
        else this.fail(index, 'a malformed number');
        return;
      case State.NumberExponent:
        if (byte >= 0x30 && byte <= 0x39) return;
        return this.afterNumber(byte, index);
      default:
        return this.structural(byte, index);
    }
  }

  private structural(byte: number, index: number): void {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) return;
    switch (this.state) {
      case State.Value:
      case State.ValueOrClose:
        if (this.state === State.ValueOrClose && byte === 0x5d) return this.close(2, index);
        return this.value(byte, index);
      case State.KeyOrClose:
      case State.Key:
        if (this.state === State.KeyOrClose && byte === 0x7d) return this.close(1, index);
        if (byte !== 0x22) this.fail(index, 'an object key that is not a string');
        this.stringIsKey = true;
        this.state = State.StringBody;
        return;
      case State.Colon:
        if (byte !== 0x3a) this.fail(index, "a missing ':' after an object key");
        this.state = State.Value;
        return;
      case State.AfterValue: {
        const container = this.stack[this.depth - 1];
        if (this.depth === 0) this.fail(index, 'more data after the document');
        if (byte === 0x2c) this.state = container === 1 ? State.Key : State.Value;
        else if (byte === 0x7d && container === 1) this.close(1, index);
        else if (byte === 0x5d && container === 2) this.close(2, index);
        else this.fail(index, "a missing ',' or closing bracket");
        return;
      }
    }
  }

  private value(byte: number, index: number): void {
    if (byte === 0x7b || byte === 0x5b) {
      if (this.depth >= pythonJsonMaxDepth) this.fail(index, `it nests deeper than ${pythonJsonMaxDepth} levels, more than Python's json reads`);
      this.stack[this.depth++] = byte === 0x7b ? 1 : 2;
      this.state = byte === 0x7b ? State.KeyOrClose : State.ValueOrClose;
    } else if (byte === 0x22) {
      this.stringIsKey = false;
      this.state = State.StringBody;
    } else if (byte === 0x2d) {
      this.state = State.NumberMinus;
    } else if (byte === 0x30) {
      this.state = State.NumberZero;
    } else if (byte >= 0x31 && byte <= 0x39) {
      this.state = State.NumberInt;
    } else if (literals[byte] !== undefined) {
      this.startLiteral(literals[byte]!);
    } else {
      this.fail(index, 'an unexpected character where a value belongs');
    }
  }

  private stringByte(byte: number, index: number): void {
    if (this.continuation > 0) {
      if (byte < this.continuationLow || byte > this.continuationHigh) this.fail(index, 'bytes that are not UTF-8');
      this.continuationLow = 0x80;
      this.continuationHigh = 0xbf;
      this.continuation--;
      return;
    }
    if (byte === 0x22) {
      this.state = this.stringIsKey ? State.Colon : State.AfterValue;
    } else if (byte === 0x5c) {
      this.state = State.Escape;
    } else if (byte < 0x20) {
      this.fail(index, 'a control character inside a string');
    } else if (byte >= 0x80) {
      this.utf8Lead(byte, index);
    }
  }

  private utf8Lead(byte: number, index: number): void {
    if (byte >= 0xc2 && byte <= 0xdf) this.continuation = 1;
    else if (byte >= 0xe0 && byte <= 0xef) {
      this.continuation = 2;
      if (byte === 0xe0) this.continuationLow = 0xa0;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.continuation = 3;
      if (byte === 0xf0) this.continuationLow = 0x90;
      if (byte === 0xf4) this.continuationHigh = 0x8f;
    } else {
      this.fail(index, 'bytes that are not UTF-8');
    }
  }

  private startLiteral(rest: string): void {
    this.literal = rest;
    this.literalAt = 0;
    this.state = State.Literal;
  }

  private closeLiteral(): void {
    this.state = State.AfterValue;
  }

  private afterNumber(byte: number, index: number): void {
    this.state = State.AfterValue;
    this.structural(byte, index);
  }

  private close(container: 1 | 2, index: number): void {
    if (this.depth === 0 || this.stack[this.depth - 1] !== container) this.fail(index, 'a closing bracket that does not match');
    this.depth--;
    this.state = State.AfterValue;
  }

  private fail(index: number, why: string): never {
    throw new JsonFormatError(`${this.what} is not JSON that Python reads: ${why} (at byte ${this.offset + index})`);
  }
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46);
}
