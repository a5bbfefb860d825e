/**
 * Inspect's condensing of buffer rows (sample-buffer.md §A.5): before a sample's events and summary
 * are written, long strings become `attachment://<hash>` references, and the input messages of model
 * events (and the message list of their provider `call.request`) move into per-sample pools that the
 * event then refers to by position (`input_refs`, `call_refs`). Pure data work: the rows to insert are
 * handed back to the caller, which writes them in the same transaction as the events.
 */
import { createHash } from 'node:crypto';
import { stringifyPythonJson } from '../json/python-json.js';
import type { BufferEvent } from './schemas.js';
import { formatPythonDumps } from './pretty-json.js';

/** Strings longer than this many characters (code points, as Python counts) become attachments. */
const attachmentThreshold = 100;
const attachmentPrefix = 'attachment://';
/** The `call.request` keys that may hold the provider's message list, in Inspect's order of preference. */
const callListKeys = ['messages', 'contents', 'input', 'inputs'] as const;

/**
 * The 128-bit content hash naming attachments and pool rows, as 32 lowercase hex digits. Inspect uses
 * MurmurHash3 x64_128; readers never verify hashes (they only look them up), so the first half of a
 * SHA-256 serves equally and comes with node:crypto.
 */
export function contentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}

/** A pool row to insert: `hash` is `message_pool.msg_id` or `call_pool.hash`; `data` the JSON text. */
export interface PoolRowData {
  hash: string;
  data: string;
}

/** Rows the condensed values refer to, in insertion order. */
export interface CondensedRows {
  /** hash → content, for `INSERT OR IGNORE INTO attachments`. */
  attachments: Map<string, string>;
  messages: PoolRowData[];
  calls: PoolRowData[];
}

/**
 * One sample's pool indices (§A.5.4): the position of each pooled hash, which is the rank of its row
 * among the sample's rows of that table. Kept in memory for as long as the sample runs, as Inspect does.
 */
export class SamplePools {
  private readonly messagePositions = new Map<string, number>();
  private readonly callPositions = new Map<string, number>();

  /** Positions of the input messages (already walked); new ones are added to `rows`. */
  poolMessage(message: unknown, rows: CondensedRows): number {
    // Dedup ignores the message id: the same content under another id shares the first one's row.
    const hash = contentHash(stringifyPythonJson(withoutKey(message, 'id')));
    return this.position(this.messagePositions, hash, () => rows.messages.push({ hash, data: formatPythonDumps(withoutNullFields(message)) }));
  }

  poolCallItem(item: unknown, rows: CondensedRows): number {
    const data = formatPythonDumps(item, { sortKeys: true });
    const hash = contentHash(data);
    return this.position(this.callPositions, hash, () => rows.calls.push({ hash, data }));
  }

  /** Forgets the pool entries of a batch whose rows never reached the database. */
  discard(rows: CondensedRows): void {
    for (const { hash } of rows.messages) this.messagePositions.delete(hash);
    for (const { hash } of rows.calls) this.callPositions.delete(hash);
  }

  private position(positions: Map<string, number>, hash: string, addRow: () => void): number {
    const known = positions.get(hash);
    if (known !== undefined) return known;
    const position = positions.size;
    positions.set(hash, position);
    addRow();
    return position;
  }
}

export function emptyRows(): CondensedRows {
  return { attachments: new Map(), messages: [], calls: [] };
}

/** Condenses events of one sample; rows they refer to are added to `rows`. */
export function condenseEvents(events: readonly BufferEvent[], pools: SamplePools, rows: CondensedRows): BufferEvent[] {
  const attach = attacher(rows);
  return events.map((event) => walkEvent(event.event === 'model' ? poolModelEvent(event, pools, rows, attach) : event, attach) as BufferEvent);
}

/** A summary row: only a message-list `input` is walked (§A.5.2). */
export function condenseSummary<T extends object>(summary: T, rows: CondensedRows): T {
  return walkSummary(summary, attacher(rows)) as T;
}

type Attach = (text: string) => string;
type Walk = (value: unknown, attach: Attach) => unknown;

function attacher(rows: CondensedRows): Attach {
  return (text) => {
    if (!longerThanThreshold(text)) return text;
    const hash = contentHash(text);
    rows.attachments.set(hash, text);
    return attachmentPrefix + hash;
  };
}

// A string has at least length/2 code points (surrogate pairs) and at most length.
function longerThanThreshold(text: string): boolean {
  if (text.length <= attachmentThreshold) return false;
  if (text.length > 2 * attachmentThreshold) return true;
  let codePoints = 0;
  for (const _ of text) if (++codePoints > attachmentThreshold) return true;
  return false;
}

// --- walkers: which strings are candidates for attachments (eval-log-format.md §5) -------------------

const text: Walk = (value, attach) => (typeof value === 'string' ? attach(value) : value);

const anyJson: Walk = (value, attach) => {
  if (typeof value === 'string') return attach(value);
  if (Array.isArray(value)) return value.map((item) => anyJson(item, attach));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, anyJson(item, attach)]));
  return value;
};

function each(walk: Walk): Walk {
  return (value, attach) => (Array.isArray(value) ? value.map((item) => walk(item, attach)) : value);
}

/** Walks the listed keys of an object; every other key is kept as it is, in place. */
function fields(table: Record<string, Walk>): Walk {
  return (value, attach) => {
    if (!isObject(value)) return value;
    const copy: Record<string, unknown> = { ...value };
    for (const [key, walk] of Object.entries(table)) if (key in copy) copy[key] = walk(copy[key], attach);
    return copy;
  };
}

/** Picks the walker by the object's discriminator (`type`, `event`); unknown kinds are kept as they are. */
function byKind(discriminator: string, table: Record<string, Walk>): Walk {
  return (value, attach) => {
    const kind = isObject(value) ? value[discriminator] : undefined;
    const walk = typeof kind === 'string' && Object.hasOwn(table, kind) ? table[kind] : undefined;
    return walk ? walk(value, attach) : value;
  };
}

const contentPart = byKind('type', {
  text: fields({ text }),
  reasoning: fields({ reasoning: text }),
  image: fields({ image: text }),
  audio: fields({ audio: text }),
  video: fields({ video: text }),
  document: fields({ document: text }),
  data: fields({ data: anyJson }),
  tool_use: fields({ arguments: anyJson, result: anyJson, error: text }),
});

const textOrParts: Walk = (value, attach) => (Array.isArray(value) ? each(contentPart)(value, attach) : text(value, attach));

const message = fields({
  content: textOrParts,
  tool_calls: each(fields({ arguments: anyJson, view: fields({ content: text }) })),
});

const messages = each(message);

const textOrMessages: Walk = (value, attach) => (Array.isArray(value) ? messages(value, attach) : text(value, attach));

const walkSummary = fields({ input: messages });

const stateChanges = each(fields({ value: anyJson }));

const walkEvent: Walk = (value, attach) => eventWalkers(value, attach);

const eventWalkers: Walk = byKind('event', {
  model: fields({
    tools: each(fields({ description: text })),
    input: messages,
    output: fields({ choices: each(fields({ message })) }),
    call: fields({ request: anyJson, response: anyJson }),
  }),
  tool: fields({ arguments: anyJson, events: each(walkEvent) }),
  info: fields({ data: anyJson }),
  state: fields({ changes: stateChanges }),
  store: fields({ changes: stateChanges }),
  sample_init: fields({ sample: fields({ input: textOrMessages }), state: anyJson }),
  subtask: fields({ events: each(walkEvent) }),
});

// --- pools (§A.5.3) ------------------------------------------------------------------------------

function poolModelEvent(event: BufferEvent, pools: SamplePools, rows: CondensedRows, attach: Attach): BufferEvent {
  let pooled = event;
  const input = event.input;
  if (Array.isArray(input) && input.length > 0) {
    const positions = input.map((item) => pools.poolMessage(message(item, attach), rows));
    pooled = withInputRefs(pooled, rangeCompress(positions));
  }
  const call = poolCallRequest(event.call, pools, rows, attach);
  return call === event.call ? pooled : { ...pooled, call };
}

/** `input: []` with `input_refs` right after it, where pydantic declares it. */
function withInputRefs(event: BufferEvent, inputRefs: number[][]): BufferEvent {
  const condensed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'input_refs') continue;
    if (key !== 'input') {
      condensed[key] = value;
      continue;
    }
    condensed.input = [];
    condensed.input_refs = inputRefs;
  }
  return condensed as BufferEvent;
}

/**
 * Moves the first message list of `call.request` into the call pool. An empty list is left in place:
 * readers treat empty `call_refs` as "not condensed" and would not restore the key.
 */
function poolCallRequest(call: unknown, pools: SamplePools, rows: CondensedRows, attach: Attach): unknown {
  if (!isObject(call) || !isObject(call.request) || (call.call_refs !== undefined && call.call_refs !== null)) return call;
  const request = call.request;
  const key = callListKeys.find((candidate) => Array.isArray(request[candidate]));
  const items = key === undefined ? undefined : (request[key] as unknown[]);
  if (key === undefined || !items || items.length === 0) return call;
  const positions = items.map((item) => pools.poolCallItem(anyJson(item, attach), rows));
  return { ...call, request: withoutKey(request, key), call_refs: rangeCompress(positions), call_key: key };
}

/** Positions as `[start, end)` runs: `[0,3,4,5,9]` → `[[0,1],[3,6],[9,10]]`. */
export function rangeCompress(positions: readonly number[]): number[][] {
  const ranges: number[][] = [];
  for (const position of positions) {
    const last = ranges.at(-1);
    if (last && last[1] === position) last[1] = position + 1;
    else ranges.push([position, position + 1]);
  }
  return ranges;
}

// --- helpers -------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutKey(value: unknown, key: string): unknown {
  if (!isObject(value) || !(key in value)) return value;
  const { [key]: _omitted, ...rest } = value;
  return rest;
}

/** Keys whose values are free-form JSON, where `null` is data and is kept (pydantic's exclude_none). */
const freeFormKeys = new Set(['arguments', 'metadata', 'data', 'internal']);

/** A pooled message as pydantic's `exclude_none` dumps it: null model fields dropped, at any depth. */
function withoutNullFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullFields);
  if (!isObject(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null) continue;
    kept[key] = freeFormKeys.has(key) ? item : withoutNullFields(item);
  }
  return kept;
}
