import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { contentHash, rangeCompress } from '../../../src/buffer/condense.js';
import { findCrashedBufferDatabase, listBufferDatabases } from '../../../src/buffer/database/candidates.js';
import { bufferDatabasePathForLog, inspectDataDir } from '../../../src/buffer/database/location.js';
import { openBufferDatabaseSnapshot } from '../../../src/buffer/database/open-snapshot.js';
import { BufferDatabaseReader } from '../../../src/buffer/database/reader.js';
import type { BufferEvent } from '../../../src/buffer/schemas.js';
import { SampleBufferDatabase, type BufferSyncHook } from '../../../src/buffer/database/writer.js';
import type { EvalSampleSummary } from '../../../src/eval/schemas.js';
import { parsePythonJson } from '../../../src/json/python-json.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { fixtureDatabasePath, sha256Hex } from './buffer-database-helpers.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { completedFrom } from '../../support/buffer-summaries.js';

// --- Inspect-shaped inputs (modelled on the fixture's `arith` sample s-008) -----------------------

const longText = (tag: string) => `${tag}: ${'an arithmetic paragraph long enough to become an attachment '.repeat(3)}`;
const systemMessage = { id: 'sys-1', content: 'You are a careful calculator.', role: 'system' };
const userMessage = { id: 'user-1', content: `${longText('question')} What is 7 + 26? café 😀`, source: 'input', role: 'user' };
const reply = {
  id: 'reply-1',
  content: 'Let me use the add tool.',
  source: 'generate',
  role: 'assistant',
  tool_calls: [{ id: 'call-1', function: 'add', arguments: { x: 7, y: 26, note: null }, type: 'function' }],
  model: 'mockllm/model',
};
const toolMessage = { id: 'tool-1', content: '33', role: 'tool', tool_call_id: 'call-1', function: 'add' };
const finalReply = { id: 'reply-2', content: '33', source: 'generate', role: 'assistant', model: 'mockllm/model' };
const tools = [{ name: 'add', description: longText('tool description'), parameters: { type: 'object', properties: {} } }];

type Message = Record<string, unknown>;

/** The provider request Inspect logs in `call.request`: the messages as the provider saw them. */
const providerMessage = (message: Message) => ({ role: message.role, content: message.content, tool_call_id: null });

function modelEvent(uuid: string, input: Message[], output: Message, pending: boolean): BufferEvent {
  return {
    uuid,
    span_id: 'span-generate',
    timestamp: '2026-11-22T13:41:54.809366+00:00',
    working_start: 0.5,
    ...(pending ? { pending: true } : {}),
    event: 'model',
    model: 'mockllm/model',
    input,
    tools,
    tool_choice: 'auto',
    config: {},
    output: { model: 'mockllm/model', choices: [{ message: output, stop_reason: 'stop' }], completion: String(output.content) },
    ...(pending ? {} : { call: { request: { model: 'model', messages: input.map(providerMessage) }, response: { content: output.content } } }),
  };
}

function sampleEvents(sampleId: string | number): BufferEvent[] {
  const firstInput = [systemMessage, userMessage];
  // Same content as the system message under another id: shares its pool row.
  const secondInput = [{ ...systemMessage, id: 'sys-copy' }, userMessage, reply, toolMessage];
  return [
    { uuid: `init-${sampleId}`, timestamp: '2026-11-22T13:41:54.80+00:00', working_start: 0, event: 'sample_init', sample: { input: [userMessage], target: '33', id: sampleId }, state: { messages: [userMessage] } },
    { uuid: `state-${sampleId}`, event: 'state', changes: [{ op: 'replace', path: '/messages/0/content', value: longText('new value'), replaced: longText('old value') }] },
    modelEvent(`model-a-${sampleId}`, firstInput, { ...reply, content: '' }, true),
    modelEvent(`model-a-${sampleId}`, firstInput, reply, false),
    { uuid: `tool-${sampleId}`, event: 'tool', type: 'function', id: 'call-1', function: 'add', arguments: { x: 7, y: 26 }, result: '33', events: [] },
    { event: 'info', data: { progress: longText('progress') } },
    modelEvent(`model-b-${sampleId}`, secondInput, finalReply, false),
    { uuid: `score-${sampleId}`, event: 'score', score: { value: Number.NaN, answer: '33' }, intermediate: false },
  ];
}

function startSummary(id: string | number, metadata: Record<string, unknown> = { index: 8 }): EvalSampleSummary {
  return { id, epoch: 1, input: [userMessage], target: '33', metadata, model_usage: {}, role_usage: {}, uuid: `uuid-${id}`.padEnd(22, '0'), completed: false };
}

function completedSummary(id: string | number, metadata: Record<string, unknown> = { index: 8 }): EvalSampleSummary {
  return completedFrom(startSummary(id, metadata));
}

// --- resolution, as readers do it (eval-log-format.md §5-6) ----------------------------------------

function resolveAttachments(value: unknown, attachments: Map<string, string>): unknown {
  if (typeof value === 'string') return value.startsWith('attachment://') ? (attachments.get(value.slice('attachment://'.length)) ?? value) : value;
  if (Array.isArray(value)) return value.map((item) => resolveAttachments(item, attachments));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveAttachments(item, attachments)]));
  }
  return value;
}

const fromRanges = <T>(ranges: unknown, pool: readonly T[]): T[] => (ranges as Array<[number, number]>).flatMap(([start, end]) => pool.slice(start, end));

/** A model event with its pooled input and call messages put back. */
function resolvePools(event: BufferEvent, messages: unknown[], calls: unknown[]): BufferEvent {
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) if (key !== 'input_refs') resolved[key] = key === 'input' && event.input_refs ? fromRanges(event.input_refs, messages) : value;
  const call = event.call as { request: Record<string, unknown>; call_refs?: unknown; call_key?: string } | undefined;
  if (call?.call_refs) {
    const { call_refs, call_key, ...rest } = call;
    resolved.call = { ...rest, request: { ...rest.request, [call_key ?? 'messages']: fromRanges(call_refs, calls) } };
  }
  return resolved as BufferEvent;
}

// --- helpers -------------------------------------------------------------------------------------

async function withTempDir<T>(prefix: string, work: (root: string) => Promise<T>): Promise<T> {
  const root = await makeTempDir(prefix);
  try {
    return await work(root);
  } finally {
    await removeTempDir(root);
  }
}

function createDatabase(root: string, options: { sync?: BufferSyncHook; pid?: number } = {}): { database: SampleBufferDatabase; logFile: string; dataDir: string } {
  const logFile = join(root, 'logs', '2026-11-22T13-41-49-00-00_arith_2iJZ4N7bW5JUPwpxW3MyVc.eval');
  const dataDir = join(root, 'data', 'inspect_ai');
  return { database: SampleBufferDatabase.create(logFile, { dataDir, pid: options.pid ?? 4242, sync: options.sync }), logFile, dataDir };
}

async function read<T>(path: string, work: (reader: BufferDatabaseReader) => T): Promise<T> {
  const reader = await BufferDatabaseReader.open(path);
  try {
    return work(reader);
  } finally {
    reader.close();
  }
}

/** Raw column text, as stored. */
async function rawRows(path: string, sql: string, ...parameters: unknown[]): Promise<Array<Record<string, unknown>>> {
  const snapshot = await openBufferDatabaseSnapshot(path);
  try {
    return snapshot.database.prepare(sql).all(...parameters) as Array<Record<string, unknown>>;
  } finally {
    snapshot.close();
  }
}

const schemaSql = 'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid';

// --- tests ---------------------------------------------------------------------------------------

function defineSuites(): void {
  describe('SampleBufferDatabase', () => {
    it('range-compresses pool positions into [start, end) runs and names content by 32 hex digits', () => {
      assert.deepEqual(rangeCompress([0, 3, 4, 5, 9]), [[0, 1], [3, 6], [9, 10]]);
      assert.deepEqual(rangeCompress([0, 1, 0]), [[0, 2], [0, 1]]);
      assert.deepEqual(rangeCompress([]), []);
      assert.match(contentHash('x'.repeat(150)), /^[0-9a-f]{32}$/);
      assert.notEqual(contentHash('a'), contentHash('b'));
    });

    it('creates the DB where Inspect puts it, in WAL mode, with one task_database row', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database, logFile, dataDir } = createDatabase(root);
        try {
          assert.equal(database.path, bufferDatabasePathForLog(logFile, { pid: 4242, dataDir }));
          assert.ok(existsSync(`${database.path}-wal`), 'WAL mode keeps a -wal file while the connection is open');
          const [mode] = await rawRows(database.path, 'PRAGMA journal_mode');
          assert.equal(mode?.journal_mode, 'wal');
          const task = await read(database.path, (reader) => reader.task());
          assert.deepEqual({ version: task.version, metrics: task.metrics }, { version: 1, metrics: [] });
          assert.match(task.lastUpdated ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          assert.throws(() => createDatabase(root), /already exists/);
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('writes condensed rows that read back to the original events, messages, calls and long strings', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        const events = sampleEvents('s-008');
        try {
          database.startSample(startSummary('s-008'));
          database.logEvents('s-008', 1, events.slice(0, 3));
          database.logEvents('s-008', 1, events.slice(3));
          database.completeSample('s-008', 1, completedSummary('s-008'), { metadata: { index: 8 } });

          await read(database.path, (reader) => {
            const [sample] = reader.samples();
            assert.equal(sample?.completed, true);
            assert.deepEqual(sample?.summary.input, [userMessage], 'summary input attachments resolve');
            assert.ok(Number.isNaN((sample?.summary.scores?.match as { value: number }).value), 'NaN score survives');
            assert.equal(sample?.metadataHash, 'summary');

            const rows = reader.eventRows('s-008', 1);
            assert.equal(rows.length, events.length, 'one row per logged event, updates included');
            const collapsed = reader.events('s-008', 1);
            assert.equal(collapsed.length, events.length - 1, 'the pending model event and its update collapse');
            assert.equal(collapsed[2]?.rowCount, 2);
            assert.equal(collapsed[2]?.event.pending, undefined, 'the collapsed event carries the final version');
            assert.equal(collapsed[4]?.eventId.length, 22, 'an event without uuid gets a fresh shortuuid');

            const attachments = reader.attachments('s-008', 1);
            const messages = reader.messagePool('s-008', 1).map((row) => row.message);
            const calls = reader.callPool('s-008', 1).map((row) => row.value);
            assert.equal(messages.length, 4, 'system, user, reply, tool: the copy of the system message is deduplicated');
            const expected = [...events.slice(0, 2), ...events.slice(3)];
            const restored = collapsed.map((row) => resolveAttachments(resolvePools(row.event, messages, calls), attachments) as Record<string, unknown>);
            for (const [index, event] of restored.entries()) {
              const original = expected[index]!;
              if (original.event !== 'model') {
                assert.deepEqual(event, original);
                continue;
              }
              // Dedup keeps the first message's id (sample-buffer.md §A.5.5).
              const input = (original.input as Message[]).map((message) => (message.id === 'sys-copy' ? systemMessage : message));
              assert.deepEqual(event, { ...original, input });
            }
            assert.ok(Number.isNaN(((restored.at(-1)?.score as { value: number }).value)), 'NaN in an event survives');

            const stored = rows.map((row) => row.event);
            assert.deepEqual(stored[2]?.input, [], 'model input moves to the pool');
            assert.deepEqual(stored[2]?.input_refs, [[0, 2]]);
            assert.deepEqual(stored[6]?.input_refs, [[0, 4]]);
            assert.deepEqual(stored[6]?.call, { request: { model: 'model' }, response: { content: '33' }, call_refs: [[0, 4]], call_key: 'messages' });
            assert.equal((stored[1]?.changes as Array<{ replaced: string }>)[0]?.replaced, longText('old value'), 'only walked locations are condensed');
            assert.equal((stored[1]?.changes as Array<{ value: string }>)[0]?.value, `attachment://${contentHash(longText('new value'))}`);
          });
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it("writes Inspect's JSON text styles: indented rows, json.dumps pools, sorted call keys", () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          database.startSample(startSummary(8));
          database.logEvents(8, 1, sampleEvents(8));
          database.completeSample(8, 1, completedSummary(8));
          database.updateMetrics([{ scorer: 'match', name: 'accuracy', value: Number.NaN, params: {} }]);

          const [sample] = await rawRows(database.path, 'SELECT data FROM samples');
          assert.match(String(sample?.data), /^\{\n {2}"id": 8,\n {2}"epoch": 1,\n {2}"input": \[\n {4}\{\n {6}"id": "user-1",/);
          assert.match(String(sample?.data), /"value": NaN,/);
          const events = await rawRows(database.path, 'SELECT data FROM events ORDER BY id');
          assert.match(String(events[0]?.data), /^\{\n {2}"uuid": "init-8",\n/);
          assert.match(String(events[2]?.data), /"input": \[\],\n {2}"input_refs": \[\n {4}\[\n {6}0,\n {6}2\n {4}\]\n {2}\],\n {2}"tools"/);
          const messages = await rawRows(database.path, 'SELECT data FROM message_pool ORDER BY id');
          assert.equal(messages[0]?.data, '{"id": "sys-1", "content": "You are a careful calculator.", "role": "system"}');
          assert.equal(
            messages[2]?.data,
            '{"id": "reply-1", "content": "Let me use the add tool.", "source": "generate", "role": "assistant", "tool_calls": [{"id": "call-1", "function": "add", "arguments": {"x": 7, "y": 26, "note": null}, "type": "function"}], "model": "mockllm/model"}',
            'null model fields are dropped, nulls inside tool arguments kept',
          );
          const userRow = String(messages[1]?.data);
          assert.match(userRow, /^\{"id": "user-1", "content": "attachment:\/\/[0-9a-f]{32}", "source": "input", "role": "user"\}$/);
          const calls = await rawRows(database.path, 'SELECT data FROM call_pool ORDER BY id');
          assert.equal(calls[0]?.data, '{"content": "You are a careful calculator.", "role": "system", "tool_call_id": null}');
          const [attachment] = await rawRows(database.path, "SELECT content FROM attachments WHERE content LIKE 'question%'");
          assert.match(String(attachment?.content), /café 😀$/, 'attachments keep raw text');
          const [task] = await rawRows(database.path, 'SELECT metrics FROM task_database');
          assert.equal(task?.metrics, '[\n  {\n    "scorer": "match",\n    "name": "accuracy",\n    "value": NaN,\n    "params": {}\n  }\n]');
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('escapes non-ASCII in pool rows as json.dumps does, and keeps it raw in event rows', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          const message = { id: 'u', content: 'café 😀 \u007f', role: 'user' };
          database.startSample(startSummary(1));
          database.logEvents(1, 1, [modelEvent('m', [message], { ...finalReply, content: 'résumé 😀' }, false)]);
          const [pooled] = await rawRows(database.path, 'SELECT data FROM message_pool');
          assert.equal(pooled?.data, '{"id": "u", "content": "caf\\u00e9 \\ud83d\\ude00 \\u007f", "role": "user"}');
          const [call] = await rawRows(database.path, 'SELECT data FROM call_pool');
          assert.equal(call?.data, '{"content": "caf\\u00e9 \\ud83d\\ude00 \\u007f", "role": "user", "tool_call_id": null}');
          const [event] = await rawRows(database.path, 'SELECT data FROM events');
          assert.match(String(event?.data), /"content": "résumé 😀"/);
          const read = await readBack(database.path);
          assert.deepEqual(read, [message]);
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('bumps task_database.version in the same transaction as every write and tells the sync hook', () =>
      withTempDir('buffer-writer-', async (root) => {
        const versions: number[] = [];
        const closes: boolean[] = [];
        const sync: BufferSyncHook = { changed: (_database, version) => versions.push(version), closed: (_database, cleanup) => void closes.push(cleanup) };
        const { database } = createDatabase(root, { sync });
        database.startSample(startSummary(1));
        database.logEvents(1, 1, sampleEvents(1));
        database.logEvents(1, 1, []);
        database.updateMetrics([]);
        database.completeSample(1, 1, completedSummary(1));
        assert.throws(() => database.completeSample(2, 1, completedSummary(2)), /never started/);
        database.removeSamples([{ id: 1, epoch: 1 }]);
        database.removeSamples([]);
        assert.deepEqual(versions, [2, 3, 4, 5, 6], 'one bump per write; empty writes and failed writes bump nothing');
        assert.equal(await read(database.path, (reader) => reader.task().version), 6);
        await database.close({ cleanup: false });
        await database.close({ cleanup: true });
        assert.deepEqual(closes, [false], 'closed once');
        assert.throws(() => database.updateMetrics([]), /closed/);
      }));

    it('stores full metadata with its hash: "summary" when it equals the summary metadata, else sha256 of the text', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          const full = { index: 2, long: 'x'.repeat(2000) };
          for (const id of [1, 2, 3]) database.startSample(startSummary(id, { index: id }));
          database.completeSample(1, 1, completedSummary(1, { index: 1 }), { metadata: { index: 1 } });
          database.completeSample(2, 1, completedSummary(2, { index: 2, long: 'Key removed from summary (> 1k)' }), { metadata: full });
          database.completeSample(2, 1, completedSummary(2, { index: 2 }));
          await read(database.path, (reader) => {
            assert.equal(reader.sample(1, 1)?.metadataHash, 'summary');
            const second = reader.sampleMetadata(2, 1);
            assert.equal(second.status, 'present');
            if (second.status !== 'present') return;
            assert.deepEqual(second.metadata, full, 'kept when a later completion passes no metadata');
            assert.equal(second.hash, sha256Hex(second.json));
            assert.equal(second.json, JSON.stringify(full, null, 2));
            assert.equal(reader.sample(3, 1)?.metadataHash, null);
            assert.deepEqual(reader.sampleMetadata(3, 1), { status: 'absent' });
          });
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('takes events only for running samples: not before the start, not after completion', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          assert.throws(() => database.logEvents(1, 1, sampleEvents(1)), /not running/);
          database.startSample(startSummary(1));
          database.completeSample(1, 1, completedSummary(1));
          assert.throws(() => database.logEvents(1, 1, sampleEvents(1)), /not running/);
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it("a sample started again forgets the earlier attempt's rows: events, pools, attachments and summary", () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          database.startSample(startSummary(1));
          database.logEvents(1, 1, sampleEvents(1));
          database.startSample(startSummary(2));
          database.logEvents(2, 1, sampleEvents(2));
          const retry = { ...startSummary(1), uuid: 'second-attempt-uuid-000' };
          database.startSample(retry);
          database.logEvents(1, 1, sampleEvents(1).slice(0, 1));
          await read(database.path, (reader) => {
            assert.equal(reader.sample(1, 1)?.summary.uuid, retry.uuid);
            assert.deepEqual(reader.events(1, 1).map((row) => row.event.event), ['sample_init'], 'only the new attempt\'s events');
            const data = reader.sampleData(1, 1)!;
            assert.equal(data.messagePool.length, 0, 'the earlier attempt\'s pool rows are gone');
            assert.equal(data.callPool.length, 0);
            assert.ok(reader.events(2, 1).length > 1, 'another sample keeps its rows');
          });
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('a failed write commits nothing and leaves no stale pool positions behind', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          database.startSample(startSummary(1));
          const unserializable = { event: 'info', data: { toJSON: () => { throw new Error('cannot serialize'); } } };
          assert.throws(() => database.logEvents(1, 1, [modelEvent('m', [systemMessage], finalReply, false), unserializable]), /cannot serialize/);
          assert.deepEqual(await rawRows(database.path, 'SELECT count(*) AS n FROM events UNION ALL SELECT count(*) FROM message_pool'), [{ n: 0 }, { n: 0 }]);
          database.logEvents(1, 1, [modelEvent('m', [systemMessage], finalReply, false)]);
          assert.deepEqual(await readBack(database.path), [systemMessage], 'the message is pooled again, at position 0');
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('removeSamples deletes every row of the flushed samples and nothing else', () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          for (const id of [1, 's-2', 3]) {
            database.startSample(startSummary(id));
            database.logEvents(id, 1, sampleEvents(id));
          }
          database.completeSample(1, 1, completedSummary(1));
          database.removeSamples([
            { id: 1, epoch: 1 },
            { id: 's-2', epoch: 1 },
          ]);
          for (const table of ['events', 'attachments', 'message_pool', 'call_pool']) {
            const rows = await rawRows(database.path, `SELECT DISTINCT sample_id FROM ${table}`);
            assert.deepEqual(rows, [{ sample_id: '3' }], table);
          }
          assert.deepEqual(await rawRows(database.path, 'SELECT id FROM samples'), [{ id: '3' }]);
          // A removed sample can run again (a retry), with fresh pools.
          database.startSample(startSummary(1));
          database.logEvents(1, 1, sampleEvents(1));
          assert.deepEqual(await readBack(database.path, 1), [systemMessage, userMessage, systemMessage, userMessage, reply, toolMessage]);
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('close with cleanup deletes the .db, -wal and -shm files, then the hash directory once it is empty', () =>
      withTempDir('buffer-writer-', async (root) => {
        const first = createDatabase(root, { pid: 1001 }).database;
        const second = createDatabase(root, { pid: 1002 }).database;
        first.startSample(startSummary(1));
        await first.close({ cleanup: true });
        for (const suffix of ['', '-wal', '-shm']) assert.equal(existsSync(first.path + suffix), false, `${suffix || '.db'} deleted`);
        assert.ok(existsSync(second.path), 'the other DB of the log directory keeps the hash directory');
        await second.close({ cleanup: false });
        assert.ok(existsSync(second.path), 'without cleanup the DB stays for recovery');
        await rm(second.path);
        const last = createDatabase(root, { pid: 1003 }).database;
        await last.close({ cleanup: true });
        assert.equal(existsSync(dirname(last.path)), false, 'the emptied hash directory is removed');
        assert.ok(existsSync(dirname(dirname(last.path))), 'samplebuffer/ itself stays');
      }));

    it('leaves a DB that findCrashedBufferDatabase finds and reads once its writer is SIGKILLed', () =>
      withTempDir('buffer-writer-crash-', async (root) => {
        const xdgDataHome = join(root, 'xdg');
        const logFile = join(root, 'logs', 'killed.eval');
        const dataDir = inspectDataDir({ env: { XDG_DATA_HOME: xdgDataHome } });
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, XDG_DATA_HOME: xdgDataHome, [childRoleVariable]: JSON.stringify({ logFile }) },
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          const lines = createInterface({ input: child.stdout! });
          for await (const line of lines) if (line === 'ready') break;
          const live = await listBufferDatabases(logFile, { dataDir });
          assert.deepEqual(live.map((candidate) => [candidate.pid, candidate.alive]), [[child.pid, true]]);
          assert.equal(await findCrashedBufferDatabase(logFile, { dataDir }), undefined, 'a live eval is never recovered');
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
        const crashed = await findCrashedBufferDatabase(logFile, { dataDir });
        assert.ok(crashed);
        assert.equal(crashed.pid, child.pid);
        assert.equal(crashed.path, bufferDatabasePathForLog(logFile, { pid: child.pid!, dataDir }));
        assert.ok(statSync(`${crashed.path}-wal`).size > 0, 'the rows are in the hot WAL');
        await read(crashed.path, (reader) => {
          assert.deepEqual(reader.samples().map((sample) => [sample.id, sample.completed]), [['1', true], ['s-2', false]]);
          assert.equal(reader.events('s-2', 1).length, sampleEvents('s-2').length - 1);
          assert.equal(reader.messagePool('s-2', 1).length, 4);
        });
      }));
  });

  describe('SampleBufferDatabase against the Inspect fixture', conformanceSuiteOptions(), () => {
    it("creates exactly the schema of Inspect's crashed-database fixture", () =>
      withTempDir('buffer-writer-', async (root) => {
        const { database } = createDatabase(root);
        try {
          database.startSample(startSummary(1));
          assert.deepEqual(await rawRows(database.path, schemaSql), await rawRows(fixtureDatabasePath(), schemaSql));
        } finally {
          await database.close({ cleanup: true });
        }
      }));

    it('replays the fixture rows into byte-identical rows (up to hashes and integral floats)', () =>
      withTempDir('buffer-writer-', async (root) => {
        const snapshot = await openBufferDatabaseSnapshot(fixtureDatabasePath());
        const { database } = createDatabase(root);
        try {
          const fixture = snapshot.database;
          const all = <T>(sql: string, ...parameters: unknown[]) => fixture.prepare(sql).all(...parameters) as T[];
          const attachments = new Map(all<{ hash: string; content: string }>('SELECT hash, content FROM attachments').map((row) => [row.hash, row.content]));
          const samples = all<{ id: string; epoch: number; data: string; sample_metadata: string | null }>('SELECT * FROM samples ORDER BY id');
          assert.equal(samples.length, 6);

          for (const row of samples) {
            const pool = (table: string) => all<{ data: string }>(`SELECT data FROM ${table} WHERE sample_id = ? ORDER BY id`, row.id).map((pooled) => parsePythonJson(pooled.data));
            const [messages, calls] = [pool('message_pool'), pool('call_pool')];
            const events = all<{ data: string }>('SELECT data FROM events WHERE sample_id = ? ORDER BY id', row.id).map((event) => parsePythonJson(event.data) as BufferEvent);
            const original = (value: unknown) => resolveAttachments(value, attachments);
            const summary = original(parsePythonJson(row.data)) as EvalSampleSummary;
            const completed = summary.completed_at !== undefined;
            // A completed sample began with its sample_init input (the summary's is thinned).
            const init = events.find((event) => event.event === 'sample_init')?.sample as { input: unknown };
            database.startSample(completed ? { ...startSummary(summary.id as string | number), input: original(init.input), target: summary.target, metadata: summary.metadata, uuid: summary.uuid } : summary);
            for (const event of events) database.logEvents(row.id, row.epoch, [original(resolvePools(event, messages, calls)) as BufferEvent]);
            if (completed) database.completeSample(row.id, row.epoch, summary, { metadata: parsePythonJson(row.sample_metadata ?? 'null') as Record<string, unknown> });
          }

          // Inspect's hashes are MurmurHash3; ours differ by design. JS writes the float 1.0 as 1.
          const expected = (text: unknown) => {
            let normalized = String(text);
            for (const [hash, content] of attachments) normalized = normalized.replaceAll(hash, contentHash(content));
            return normalized.replace(/(?<=[:[,\s])(-?\d+)\.0(?=[,\s\]}])/g, '$1');
          };
          const tables = [
            ['samples', 'id, epoch, data, sample_metadata, sample_metadata_hash', 'ORDER BY id, epoch'],
            ['events', 'event_id, sample_id, sample_epoch, data', 'ORDER BY sample_id, id'],
            ['attachments', 'sample_id, sample_epoch, content', 'ORDER BY sample_id, id'],
            ['message_pool', 'sample_id, sample_epoch, data', 'ORDER BY sample_id, id'],
            ['call_pool', 'sample_id, sample_epoch, data', 'ORDER BY sample_id, id'],
          ] as const;
          for (const [table, columns, order] of tables) {
            const ours = await rawRows(database.path, `SELECT ${columns} FROM ${table} ${order}`);
            const theirs = all<Record<string, unknown>>(`SELECT ${columns} FROM ${table} ${order}`).map((row) =>
              Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'string' ? expected(value) : value])),
            );
            assert.equal(ours.length, theirs.length, `${table} row count`);
            assert.deepEqual(ours, theirs, table);
          }

          // Through BufferDatabaseReader, with refs resolved, the two DBs are the same data.
          const theirView = await read(fixtureDatabasePath(), readerView);
          const ourView = await read(database.path, readerView);
          assert.deepEqual(ourView, theirView);
          assert.deepEqual(
            theirView.map((sample) => [sample.id, sample.completed, sample.events.length]),
            [['5', true, 39], ['7', false, 21], ['9', false, 17], ['s-006', false, 21], ['s-008', true, 39], ['s-010', false, 17]],
          );
        } finally {
          snapshot.close();
          await database.close({ cleanup: true });
        }
      }));
  });
}

/** Every sample as a reader sees it: summary, metadata, collapsed events with pools and attachments resolved. */
function readerView(reader: BufferDatabaseReader) {
  return reader.samples().map((sample) => {
    const attachments = reader.attachments(sample.id, sample.epoch);
    const messages = reader.messagePool(sample.id, sample.epoch).map((row) => row.message);
    const calls = reader.callPool(sample.id, sample.epoch).map((row) => row.value);
    return {
      id: sample.id,
      completed: sample.completed,
      summary: sample.summary,
      metadataHash: sample.metadataHash,
      metadata: reader.sampleMetadata(sample.id, sample.epoch),
      events: reader.events(sample.id, sample.epoch).map((row) => [row.eventId, row.rowCount, resolveAttachments(resolvePools(row.event, messages, calls), attachments)]),
    };
  });
}

/** The input messages of every model event of sample `id`, resolved from the pools and attachments. */
async function readBack(path: string, id: string | number = 1): Promise<unknown[]> {
  return read(path, (reader) => {
    const attachments = reader.attachments(id, 1);
    const messages = reader.messagePool(id, 1).map((row) => row.message);
    return reader
      .events(id, 1)
      .filter((row) => row.event.event === 'model')
      .flatMap((row) => resolveAttachments(resolvePools(row.event, messages, []).input, attachments) as unknown[]);
  });
}

// --- the child process of the SIGKILL test: this file, run with the variable set -----------------

const childRoleVariable = 'INSPECT_RECOVER_WRITER_TEST_CHILD';

/** Creates a DB under $XDG_DATA_HOME, writes a completed and a running sample, then waits to be killed. */
function runCrashChild({ logFile }: { logFile: string }): void {
  const database = SampleBufferDatabase.create(logFile);
  database.startSample(startSummary(1));
  database.logEvents(1, 1, sampleEvents(1));
  database.completeSample(1, 1, completedSummary(1));
  database.startSample(startSummary('s-2'));
  database.logEvents('s-2', 1, sampleEvents('s-2'));
  process.stdout.write('ready\n');
  // Wait for the kill with the database reachable: collected, it would close (and checkpoint).
  setInterval(() => database, 60_000);
}

// The child must not define the suites: node:test would run them in it.
const childArguments = process.env[childRoleVariable];
if (childArguments === undefined) defineSuites();
else runCrashChild(JSON.parse(childArguments) as { logFile: string });
