/**
 * The damage a corruption campaign applies to one file: cuts, bit flips, random spans, zip
 * structure edits (directory and local header fields, names, duplicated records), JSON edits of
 * an entry re-zipped with a valid CRC (so only the content is wrong), and SQLite page damage.
 * Each mutation is a pure function of the bytes and a seeded random source.
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { decompress } from 'fzstd';

export type Random = () => number;

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const below = (random: Random, n: number) => Math.floor(random() * n);
const pick = <T>(random: Random, items: readonly T[]): T => items[below(random, items.length)]!;

export type FileKind = 'zip' | 'json' | 'sqlite' | 'other';

export interface Mutation {
  name: string;
  applies: (kind: FileKind) => boolean;
  /** The damaged bytes, or undefined when this mutation finds nothing to change in them. */
  apply?: (bytes: Buffer, random: Random) => Buffer | undefined;
  /** Damage done to the file in place, through a program that writes such files (SQLite): whether it changed anything. */
  applyToFile?: (path: string, random: Random) => Promise<boolean>;
}

const any = () => true;

export const mutations: Mutation[] = [
  { name: 'truncate', applies: any, apply: (bytes, random) => bytes.subarray(0, below(random, bytes.length)) },
  {
    name: 'bit flip',
    applies: any,
    apply: (bytes, random) => {
      const copy = Buffer.from(bytes);
      const at = below(random, copy.length);
      copy[at]! ^= 1 << below(random, 8);
      return copy;
    },
  },
  {
    name: 'byte flips',
    applies: any,
    apply: (bytes, random) => {
      const copy = Buffer.from(bytes);
      for (let n = 2 + below(random, 15); n > 0; n--) copy[below(random, copy.length)] = below(random, 256);
      return copy;
    },
  },
  {
    name: 'random span',
    applies: any,
    apply: (bytes, random) => {
      const copy = Buffer.from(bytes);
      const length = 1 + below(random, 256);
      const at = below(random, Math.max(1, copy.length - length));
      for (let i = at; i < Math.min(copy.length, at + length); i++) copy[i] = below(random, 256);
      return copy;
    },
  },
  {
    name: 'zeroed span',
    applies: any,
    apply: (bytes, random) => {
      const copy = Buffer.from(bytes);
      const at = below(random, copy.length);
      return copy.fill(0, at, Math.min(copy.length, at + 1 + below(random, 4096)));
    },
  },
  { name: 'directory field', applies: (kind) => kind === 'zip', apply: (bytes, random) => patchRecord(bytes, random, 'central') },
  { name: 'local header field', applies: (kind) => kind === 'zip', apply: (bytes, random) => patchRecord(bytes, random, 'local') },
  { name: 'renamed entry', applies: (kind) => kind === 'zip', apply: renameEntry },
  { name: 'duplicated record', applies: (kind) => kind === 'zip', apply: duplicateRecord },
  { name: 'entry JSON edit', applies: (kind) => kind === 'zip', apply: (bytes, random) => editEntryJson(bytes, random) },
  { name: 'JSON edit', applies: (kind) => kind === 'json', apply: (bytes, random) => Buffer.from(editJson(bytes.toString('utf8'), random)) },
  { name: 'SQLite page damage', applies: (kind) => kind === 'sqlite', apply: damagePage },
  { name: 'wrong-typed column', applies: (kind) => kind === 'sqlite', applyToFile: wrongTypedColumn },
  { name: 'wrong-typed JSON field', applies: (kind) => kind === 'json', apply: (bytes, random) => wrongTypedField(bytes, random) },
];

/** Values of every SQLite type and of the wrong JSON types, edge numbers among them. */
const wrongValues: unknown[] = [-1, 2n ** 62n, 1.5, 0, '', 'x', '{}', '[]', '1e999', null, Buffer.from([0, 0xff, 0x7b])];

/** Every column of Inspect's buffer tables (sample-buffer.md §A.2), ours too. */
const bufferColumns: Record<string, string[]> = {
  task_database: ['version', 'metrics', 'last_updated'],
  samples: ['id', 'epoch', 'data', 'sample_metadata', 'sample_metadata_hash'],
  events: ['id', 'event_id', 'sample_id', 'sample_epoch', 'data'],
  attachments: ['id', 'sample_id', 'sample_epoch', 'hash', 'content'],
  message_pool: ['id', 'sample_id', 'sample_epoch', 'msg_id', 'data'],
  call_pool: ['id', 'sample_id', 'sample_epoch', 'hash', 'data'],
};

/** Sets one column of one row (or of every row) of a buffer database to a value of another type, with SQLite itself. */
async function wrongTypedColumn(path: string, random: Random): Promise<boolean> {
  const { openSqlite } = await import('../src/buffer/database/sqlite.js');
  const database = openSqlite(path.replace(/-(wal|shm)$/, ''));
  try {
    const tables = new Set((database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]));
    const table = pick(random, Object.keys(bufferColumns).filter((name) => tables.has(name)));
    if (!table) return false;
    const columns = new Set((database.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((column) => column.name));
    const column = pick(random, bufferColumns[table]!.filter((name) => columns.has(name)));
    if (!column) return false;
    const value = pick(random, wrongValues);
    const everyRow = random() < 0.3 ? '' : ` WHERE rowid = (SELECT rowid FROM ${table} ORDER BY random() LIMIT 1)`;
    // A primary key or unique value may refuse the change (a clash): then nothing is damaged.
    try {
      return database.prepare(`UPDATE ${table} SET ${column} = ?${everyRow}`).run(value).changes > 0;
    } catch {
      return false;
    }
  } finally {
    database.close();
  }
}

/** Replaces one value anywhere in a JSON document with a value of another type (a manifest's fields). */
function wrongTypedField(bytes: Buffer, random: Random): Buffer | undefined {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8').replace(/\bNaN\b/g, 'null'));
  } catch {
    return undefined;
  }
  const slots: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach((item, index) => (slots.push({ parent: value, key: index }), walk(item)));
    else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) (slots.push({ parent: value as Record<string, unknown>, key }), walk(item));
  };
  walk(document);
  if (slots.length === 0) return undefined;
  const { parent, key } = pick(random, slots);
  const replacement = pick(random, [-1, 2 ** 62, 1.5, '', 'x', [], {}, null, true, '../../etc']);
  (parent as Record<string | number, unknown>)[key] = replacement;
  return Buffer.from(JSON.stringify(document, null, 2));
}

interface ZipRecord {
  central: number;
  local: number;
  nameLength: number;
  method: number;
  dataOffset: number;
  compressedSize: number;
  name: string;
}

/** The records of a zip with a plain end record (what the seeds are), or [] for anything else. */
function records(bytes: Buffer): ZipRecord[] {
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0 || end + 22 > bytes.length) return [];
  const found: ZipRecord[] = [];
  for (let at = bytes.readUInt32LE(end + 16); at + 46 <= end && bytes.readUInt32LE(at) === 0x02014b50; ) {
    const nameLength = bytes.readUInt16LE(at + 28);
    const local = bytes.readUInt32LE(at + 42);
    if (local + 30 > bytes.length) return found;
    found.push({
      central: at,
      local,
      nameLength,
      method: bytes.readUInt16LE(at + 10),
      dataOffset: local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28),
      compressedSize: bytes.readUInt32LE(at + 20),
      name: bytes.subarray(at + 46, at + 46 + nameLength).toString('latin1'),
    });
    at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return found;
}

const edgeValues = [0, 1, 0xffff, 0xffffffff, 0x7fffffff];

function patchRecord(bytes: Buffer, random: Random, which: 'central' | 'local'): Buffer | undefined {
  const record = pick(random, records(bytes).length ? records(bytes) : [undefined]);
  if (!record) return undefined;
  const copy = Buffer.from(bytes);
  const fields: [number, 2 | 4][] =
    which === 'central'
      ? [[10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [42, 4], [8, 2]]
      : [[8, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2], [6, 2]];
  const [offset, width] = pick(random, fields);
  const at = (which === 'central' ? record.central : record.local) + offset;
  const current = width === 2 ? copy.readUInt16LE(at) : copy.readUInt32LE(at);
  const value = random() < 0.5 ? pick(random, edgeValues) : current + pick(random, [-1, 1, 7, -100, 1000]);
  const fitted = width === 2 ? value & 0xffff : value >>> 0;
  if (width === 2) copy.writeUInt16LE(fitted, at);
  else copy.writeUInt32LE(fitted, at);
  return copy;
}

/** Renames an entry to another entry's name or a crafted one, in the directory and its local header. */
function renameEntry(bytes: Buffer, random: Random): Buffer | undefined {
  const all = records(bytes);
  if (all.length < 2) return undefined;
  const record = pick(random, all);
  const other = pick(random, all);
  const crafted = pick(random, [other.name, 'samples/../../x.json', '/etc/x.json', 'samples/a\\b.json', `samples/${'9'.repeat(5)}_epoch_1.json`]);
  const name = Buffer.from(crafted.padEnd(record.nameLength, 'x').slice(0, record.nameLength), 'latin1');
  const copy = Buffer.from(bytes);
  name.copy(copy, record.central + 46);
  if (random() < 0.7) name.copy(copy, record.local + 30);
  return copy;
}

/** Appends a copy of one directory record: a second name for the same data. */
function duplicateRecord(bytes: Buffer, random: Random): Buffer | undefined {
  const all = records(bytes);
  if (all.length === 0) return undefined;
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const record = pick(random, all);
  const recordEnd = record.central + 46 + record.nameLength + bytes.readUInt16LE(record.central + 30) + bytes.readUInt16LE(record.central + 32);
  const extra = bytes.subarray(record.central, recordEnd);
  const tail = Buffer.from(bytes.subarray(end));
  tail.writeUInt16LE(tail.readUInt16LE(8) + 1, 8);
  tail.writeUInt16LE(tail.readUInt16LE(10) + 1, 10);
  tail.writeUInt32LE(tail.readUInt32LE(12) + extra.length, 12);
  return Buffer.concat([bytes.subarray(0, end), extra, tail]);
}

/** Decodes one deflate or zstd entry, edits its JSON, and stores it back deflated with a valid CRC and sizes. */
function editEntryJson(bytes: Buffer, random: Random): Buffer | undefined {
  const candidates = records(bytes).filter((record) => (record.method === 8 || record.method === 93) && record.name.endsWith('.json'));
  if (candidates.length === 0) return undefined;
  const record = pick(random, candidates);
  const raw = bytes.subarray(record.dataOffset, record.dataOffset + record.compressedSize);
  let text: string;
  try {
    text = Buffer.from(record.method === 8 ? inflateRawSync(raw) : decompress(raw)).toString('utf8');
  } catch {
    return undefined;
  }
  const edited = Buffer.from(editJson(text, random));
  const data = deflateRawSync(edited);
  const local = Buffer.from(bytes.subarray(record.local, record.dataOffset));
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc32(edited), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(edited.length, 22);
  // The entry moves to the end (before the directory), its record patched to match, as an appending writer would.
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const directoryOffset = bytes.readUInt32LE(end + 16);
  const directory = Buffer.from(bytes.subarray(directoryOffset, end));
  const at = record.central - directoryOffset;
  directory.writeUInt16LE(8, at + 10);
  directory.writeUInt32LE(crc32(edited), at + 16);
  directory.writeUInt32LE(data.length, at + 20);
  directory.writeUInt32LE(edited.length, at + 24);
  directory.writeUInt32LE(directoryOffset, at + 42);
  const tail = Buffer.from(bytes.subarray(end));
  tail.writeUInt32LE(directoryOffset + local.length + data.length, 16);
  return Buffer.concat([bytes.subarray(0, directoryOffset), local, data, directory, tail]);
}

const replacements = ['"x"', '-9223372036854775808', '[]', '{}', 'null', 'true', '1e999', '"../../etc"', `"${'y'.repeat(100_000)}"`];

export function editJson(text: string, random: Random): string {
  if (text.length === 0) return '[';
  const at = below(random, text.length);
  switch (below(random, 6)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + pick(random, ['{', '}', '[', ']', '"', ',', ':', '\\']) + text.slice(at);
    case 2: {
      // Replace a value after a colon with another type.
      const colon = text.indexOf(':', at);
      if (colon < 0) return text.slice(0, at);
      const end = text.slice(colon + 1).search(/[,}\]]/);
      return text.slice(0, colon + 1) + pick(random, replacements) + (end < 0 ? '' : text.slice(colon + 1 + end));
    }
    case 3: {
      const colon = text.indexOf(':', at);
      if (colon < 0) return text;
      const end = text.slice(colon + 1).search(/[,}\]]/);
      const depth = 100_000;
      return text.slice(0, colon + 1) + '['.repeat(depth) + ']'.repeat(depth) + (end < 0 ? '' : text.slice(colon + 1 + end));
    }
    case 4:
      return text.slice(0, at);
    default:
      return text.replace(/"id":\s*("[^"]*"|\d+)/, `"id":${pick(random, ['"../x"', '"a/b"', '7', '"7"', `"${'z'.repeat(70_000)}"`])}`);
  }
}

function damagePage(bytes: Buffer, random: Random): Buffer | undefined {
  const pageSize = bytes.length >= 100 && bytes.subarray(0, 16).toString('latin1').startsWith('SQLite format 3') ? bytes.readUInt16BE(16) || 65536 : 4096;
  const pages = Math.floor(bytes.length / pageSize);
  if (pages < 1) return undefined;
  const copy = Buffer.from(bytes);
  const page = below(random, pages);
  const start = page * pageSize + below(random, pageSize - 16);
  for (let i = 0; i < 1 + below(random, 16); i++) copy[start + i] = below(random, 256);
  return copy;
}
