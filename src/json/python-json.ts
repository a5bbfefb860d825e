/**
 * JSON as Inspect (pydantic / Python's json) writes it:
 * - bare `NaN`, `Infinity` and `-Infinity` tokens (NaN means "unscored") parse to numbers and are
 *   written back as the same tokens, where `JSON.stringify` would write `null`;
 * - integers beyond 2^53 (tool arguments, metadata) parse to `bigint` and are written back digit
 *   for digit;
 * - strings with unpaired UTF-16 surrogates are written with the surrogate as literal `\uXXXX`
 *   text, as Inspect does, so the output is always valid UTF-8.
 * Every key is kept. One loss is accepted: a float with an integral value (`1.0`) comes back as
 * `1`; pydantic reads it into float fields unchanged.
 */
import { randomBytes } from 'node:crypto';
import { JsonFormatError } from '../errors.js';

// A per-process marker no real document contains: NUL + random nonce.
const nonce = randomBytes(8).toString('hex');
const markerPrefix = `\u0000pyjson:${nonce}:`;
const escapedMarker = new RegExp(`"\\\\u0000pyjson:${nonce}:([^"]+)"`, 'g');
// A number token of 16+ digits (after `:`, `[` or `,`; not a float): a possible unsafe integer.
const longDigitRun = /(?:^|[:,[])\s*-?\d{16,}\s*(?:$|[,\]}])/;
const anySurrogate = /[\ud800-\udfff]/;

const nonFinite: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

export function parsePythonJson(text: string, what = 'JSON document'): unknown {
  if (!longDigitRun.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: probably NaN/Infinity tokens; the slow path reports real syntax errors
    }
  }
  const { rewritten, markers } = markSpecialTokens(text);
  try {
    return markers ? JSON.parse(rewritten, reviveMarker) : JSON.parse(rewritten);
  } catch (error) {
    throw new JsonFormatError(`${what} is not valid JSON: ${oneLineReason((error as Error).message)}`, error);
  }
}

/**
 * V8's syntax errors quote the text around the fault, newlines included (pretty-printed
 * documents), and that text is the rewritten one: keep the message on one line, without markers.
 */
function oneLineReason(message: string): string {
  return message
    .replace(escapedMarker, '$1')
    .replace(/\\u0000pyjson:[0-9a-f]*:?/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function reviveMarker(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith(markerPrefix)) return value;
  const token = value.slice(markerPrefix.length);
  return token in nonFinite ? nonFinite[token] : BigInt(token);
}

/** Replaces, outside strings, non-finite tokens and unsafe integers with marker strings. */
function markSpecialTokens(text: string): { rewritten: string; markers: boolean } {
  const parts: string[] = [];
  let copiedUpTo = 0;
  let markers = false;
  const mark = (start: number, end: number, token: string) => {
    parts.push(text.slice(copiedUpTo, start), `"\\u0000pyjson:${nonce}:${token}"`);
    copiedUpTo = end;
    markers = true;
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < text.length) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i += 2;
        else if (s === 0x22) break;
        else i++;
      }
      i++;
    } else if (text.startsWith('NaN', i)) {
      mark(i, i + 3, 'NaN');
      i += 3;
    } else if (text.startsWith('Infinity', i)) {
      mark(i, i + 8, 'Infinity');
      i += 8;
    } else if (text.startsWith('-Infinity', i)) {
      mark(i, i + 9, '-Infinity');
      i += 9;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < text.length && isNumberChar(text.charCodeAt(i))) i++;
      const lexeme = text.slice(start, i);
      // Only a well-formed integer (no leading zero) becomes a bigint; anything else is left
      // for JSON.parse to accept or reject.
      if (/^-?[1-9]\d{15,}$/.test(lexeme) && !Number.isSafeInteger(Number(lexeme))) mark(start, i, lexeme);
    } else {
      i++;
    }
  }
  if (!markers) return { rewritten: text, markers };
  parts.push(text.slice(copiedUpTo));
  return { rewritten: parts.join(''), markers };
}

/** Digits, `.`, `e`, `E`, `+`, `-`: the characters a JSON number lexeme is made of. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/**
 * The deepest nesting written: Python's json (which Inspect reads logs with) stops at its
 * recursion limit of 1,000, so anything deeper would make an unreadable log.
 */
export const maxJsonDepth = 1000;

/** A JsonFormatError when the value nests deeper than `maxJsonDepth`. */
export function stringifyPythonJson(value: unknown): string {
  // Plain JSON.stringify when nothing needs a replacer: several times faster on large samples.
  if (!hasSpecialNumber(value, 0)) {
    const json = JSON.stringify(value);
    if (json !== undefined && !escapedSurrogate.test(json)) return json;
  }
  const json = JSON.stringify(value, replaceSpecialValues);
  if (json === undefined) throw new JsonFormatError('value has no JSON representation');
  return json.includes(markerPrefix.slice(1)) ? json.replace(escapedMarker, '$1') : json;
}

/** JSON.stringify writes a lone surrogate as a `\\udXXX` escape; Inspect writes it as text. */
const escapedSurrogate = /\\ud[89a-f][0-9a-f]{2}/i;

/** Whether a value holds a number JSON.stringify would get wrong: NaN, ±Infinity, a bigint; checks the depth on the way. */
function hasSpecialNumber(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object') return false;
  if (depth >= maxJsonDepth) throw new JsonFormatError(`a value nests deeper than ${maxJsonDepth} levels, more than Python's json (which Inspect reads with) allows`);
  if (Array.isArray(value)) {
    for (const item of value) if (hasSpecialNumber(item, depth + 1)) return true;
    return false;
  }
  for (const key in value) if (hasSpecialNumber((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

function replaceSpecialValues(_key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? value : markerPrefix + String(value);
    case 'bigint':
      return markerPrefix + value.toString();
    case 'string':
      return anySurrogate.test(value) ? escapeLoneSurrogates(value) : value;
    default:
      return value;
  }
}

function escapeLoneSurrogates(text: string): string {
  return text.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (surrogate) => `\\u${surrogate.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
