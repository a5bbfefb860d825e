import type { z } from 'zod';
import { JsonFormatError } from '../errors.js';
import { parsePythonJson } from '../json/python-json.js';

/**
 * Parses JSON text from a DB column (NaN/Infinity tolerant) and checks its shape; failures are a
 * one-line JsonFormatError that names the row (`what`).
 */
export function parseRowJson<T>(text: unknown, schema: z.ZodType<T>, what: string): T {
  if (typeof text !== 'string') throw new JsonFormatError(`${what} is ${text === null ? 'NULL' : 'not text'}, expected JSON`);
  const result = schema.safeParse(parsePythonJson(text, what));
  if (result.success) return result.data;
  throw new JsonFormatError(`${what} does not have the expected shape: ${describeIssues(result.error)}`, result.error);
}

function describeIssues(error: z.ZodError): string {
  const [first, ...rest] = error.issues;
  if (!first) return 'invalid';
  const where = first.path.length > 0 ? `${first.path.map(String).join('.')}: ` : '';
  return `${where}${first.message}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}`;
}
