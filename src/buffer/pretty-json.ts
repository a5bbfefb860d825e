/**
 * The two JSON text styles of Inspect's sample-buffer database (sample-buffer.md §A.3):
 * - `formatIndentedJson`: rows (`samples.data`, `events.data`, `sample_metadata`, `metrics`), as
 *   pydantic writes them with `indent=2`: raw UTF-8, `": "` after keys, one item per line;
 * - `formatPythonDumps`: pool rows (`message_pool.data`, `call_pool.data`), as Python's
 *   `json.dumps` writes them by default: one line, `", "` and `": "` separators, every character
 *   outside printable ASCII escaped as `\uXXXX`; `sortKeys` for `call_pool.data`.
 * Both follow python-json.ts: NaN/±Infinity as bare tokens, big integers digit for digit, and (in
 * raw UTF-8 text) an unpaired surrogate written as its literal `\uXXXX` text, so the text is valid
 * UTF-8. As there, an integral float (`1.0`) is written as `1`.
 */
import { JsonFormatError } from '../errors.js';

interface JsonStyle {
  /** Per-level indentation; undefined for single-line output. */
  indent?: string;
  itemSeparator: string;
  keySeparator: string;
  sortKeys: boolean;
  asciiOnly: boolean;
}

const indentedStyle: JsonStyle = { indent: '  ', itemSeparator: ',', keySeparator: ': ', sortKeys: false, asciiOnly: false };
const dumpsStyle: JsonStyle = { itemSeparator: ', ', keySeparator: ': ', sortKeys: false, asciiOnly: true };

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const notPrintableAscii = /[^\x20-\x7e]/g;

export function formatIndentedJson(value: unknown): string {
  return formatJson(value, indentedStyle);
}

export function formatPythonDumps(value: unknown, options: { sortKeys?: boolean } = {}): string {
  return formatJson(value, { ...dumpsStyle, sortKeys: options.sortKeys ?? false });
}

function formatJson(value: unknown, style: JsonStyle): string {
  const text = formatValue(value, style, '');
  if (text === undefined) throw new JsonFormatError('value has no JSON representation');
  return text;
}

/** undefined for what JSON.stringify leaves out (undefined, functions, symbols). */
function formatValue(value: unknown, style: JsonStyle, indentation: string): string | undefined {
  const json = toJsonValue(value);
  switch (typeof json) {
    case 'string':
      return formatString(json, style);
    case 'number':
      return Number.isFinite(json) ? JSON.stringify(json) : String(json);
    case 'bigint':
      return json.toString();
    case 'boolean':
      return String(json);
    case 'object':
      if (json === null) return 'null';
      return Array.isArray(json) ? formatArray(json, style, indentation) : formatObject(json as Record<string, unknown>, style, indentation);
    default:
      return undefined;
  }
}

// Dates and other objects with toJSON serialize as JSON.stringify would serialize them.
function toJsonValue(value: unknown): unknown {
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  return typeof toJSON === 'function' ? toJSON.call(value) : value;
}

function formatString(text: string, style: JsonStyle): string {
  if (style.asciiOnly) return JSON.stringify(text).replace(notPrintableAscii, escapeCodeUnit);
  return JSON.stringify(text.replace(loneSurrogate, escapeCodeUnit));
}

function escapeCodeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function formatArray(items: unknown[], style: JsonStyle, indentation: string): string {
  if (items.length === 0) return '[]';
  const inner = style.indent === undefined ? indentation : indentation + style.indent;
  const parts = items.map((item) => formatValue(item, style, inner) ?? 'null');
  return wrap('[', ']', parts, style, indentation, inner);
}

function formatObject(object: Record<string, unknown>, style: JsonStyle, indentation: string): string {
  const keys = Object.keys(object);
  if (style.sortKeys) keys.sort();
  const inner = style.indent === undefined ? indentation : indentation + style.indent;
  const parts: string[] = [];
  for (const key of keys) {
    const formatted = formatValue(object[key], style, inner);
    if (formatted !== undefined) parts.push(formatString(key, style) + style.keySeparator + formatted);
  }
  if (parts.length === 0) return '{}';
  return wrap('{', '}', parts, style, indentation, inner);
}

function wrap(open: string, close: string, parts: string[], style: JsonStyle, indentation: string, inner: string): string {
  if (style.indent === undefined) return open + parts.join(style.itemSeparator) + close;
  return `${open}\n${inner}${parts.join(`${style.itemSeparator}\n${inner}`)}\n${indentation}${close}`;
}
