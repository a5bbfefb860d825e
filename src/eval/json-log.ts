/**
 * Inspect's other log format: one JSON document (`EvalLog` with its `samples` inline), written
 * whole at each flush (eval-log-format.md). Read here only to describe it (`show`, `--list`);
 * it cannot be recovered, having no journal of flushed entries to copy.
 */
import { EvalLogFormatError, StorageError } from '../errors.js';
import { parsePythonJson } from '../json/python-json.js';
import type { Storage } from '../storage/storage.js';
import { EvalLogHeaderSchema, EvalSampleSchema, validate, type EvalLogHeader, type EvalSample } from './schemas.js';

/** Inspect lists `.json` files as logs only when their name starts with an ISO timestamp. */
export function isJsonLogName(name: string): boolean {
  return name.endsWith('.json') && /^\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}[-:]\d{2}/.test(name);
}

/** Larger `.json` logs are refused rather than parsed whole. */
export const jsonLogReadLimit = 256 * 1024 * 1024;

export interface JsonEvalLog {
  header: EvalLogHeader;
  samples: EvalSample[];
}

export async function readJsonEvalLog(storage: Storage, location: string): Promise<JsonEvalLog> {
  const stat = await storage.stat(location);
  if (stat && stat.size > jsonLogReadLimit) {
    throw new StorageError(`${location}: a .json log of ${stat.size} bytes is larger than this tool reads whole (${jsonLogReadLimit} bytes)`);
  }
  const document = parsePythonJson(Buffer.from(await storage.read(location, { maxBytes: jsonLogReadLimit })).toString('utf8'), location);
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new EvalLogFormatError(`${location}: not an Inspect .json log (not a JSON object)`);
  const { samples, ...rest } = document as Record<string, unknown>;
  const header = validate(EvalLogHeaderSchema, rest, `${location}: the log`);
  const list = Array.isArray(samples) ? samples : [];
  return { header, samples: list.map((sample, index) => validate(EvalSampleSchema, sample, `${location}: samples[${index}]`)) };
}
