/** Inputs and checks for the filestore sync tests: Inspect-shaped samples and a DB-vs-filestore comparison. */
import assert from 'node:assert/strict';
import { BufferDatabaseReader } from '../../../src/buffer/database/reader.js';
import type { BufferEvent } from '../../../src/buffer/schemas.js';
import { FilestoreReader } from '../../../src/buffer/filestore/reader.js';
import type { EvalSampleSummary } from '../../../src/eval/schemas.js';
import type { Storage } from '../../../src/storage/storage.js';
import { ZipReader } from '../../../src/zip/zip-reader.js';
import { completedFrom } from '../../support/buffer-summaries.js';

// --- Inspect-shaped inputs (modelled on the fixture's `arith` samples) ----------------------------

export const longText = (tag: string) => `${tag}: ${'an arithmetic paragraph long enough to become an attachment '.repeat(3)}`;

const question = (id: string | number) => ({ id: `user-${id}`, content: `${longText('question')} What is 7 + 26? café 😀`, role: 'user' });
const reply = (id: string | number, turn: number) => ({ id: `reply-${id}-${turn}`, content: `turn ${turn}`, source: 'generate', role: 'assistant', model: 'mockllm/model' });

function modelEvent(sampleId: string | number, turn: number, pending: boolean): BufferEvent {
  const input = [{ id: 'sys', content: 'You are a careful calculator.', role: 'system' }, question(sampleId)];
  for (let previous = 1; previous < turn; previous++) input.push(reply(sampleId, previous));
  const output = reply(sampleId, turn);
  return {
    uuid: `model-${sampleId}-${turn}`,
    span_id: 'span-generate',
    timestamp: '2026-11-22T13:41:54.809366+00:00',
    working_start: 0.5,
    ...(pending ? { pending: true } : {}),
    event: 'model',
    model: 'mockllm/model',
    input,
    tools: [],
    tool_choice: 'none',
    config: {},
    output: { model: 'mockllm/model', choices: [{ message: output, stop_reason: 'stop' }], completion: output.content },
    ...(pending ? {} : { call: { request: { model: 'model', messages: input.map((message) => ({ role: message.role, content: message.content })) }, response: { ok: true } } }),
  };
}

/** The first events of a sample: init (with a long string), one model turn logged pending, then resolved. */
export function openingEvents(sampleId: string | number): BufferEvent[] {
  return [
    { uuid: `init-${sampleId}`, timestamp: '2026-11-22T13:41:54.80+00:00', working_start: 0, event: 'sample_init', sample: { input: [question(sampleId)], target: '33', id: sampleId }, state: {} },
    modelEvent(sampleId, 1, true),
    modelEvent(sampleId, 1, false),
  ];
}

/** A later model turn (new pool rows), an info event with a long string, and a NaN score. */
export function laterEvents(sampleId: string | number, turn: number): BufferEvent[] {
  return [
    modelEvent(sampleId, turn, false),
    { event: 'info', data: { progress: longText(`progress ${turn}`) } },
    { uuid: `score-${sampleId}-${turn}`, event: 'score', score: { value: Number.NaN, answer: '33' }, intermediate: true },
  ];
}

export function startSummary(id: string | number, epoch = 1): EvalSampleSummary {
  return {
    id,
    epoch,
    input: [question(id)],
    target: '33',
    metadata: { index: String(id), nested: { weight: 0.5 } },
    model_usage: {},
    role_usage: {},
    uuid: `uuid-${id}-${epoch}`.padEnd(22, '0'),
    completed: false,
  };
}

export function completedSummary(id: string | number, epoch = 1): EvalSampleSummary {
  return completedFrom(startSummary(id, epoch));
}

export const metrics = [
  { scorer: 'match', name: 'accuracy', value: 0.5, params: {} },
  { scorer: 'match', name: 'stderr', value: Number.NaN, params: {} },
];

// --- checks --------------------------------------------------------------------------------------

/**
 * The filestore holds exactly what the DB holds: the same samples in the same order, and per
 * sample the same summary, logical events, pools, attachments and full metadata. `dbPath` is
 * read through a private copy, as recovery reads it.
 */
export async function assertFilestoreMirrorsDatabase(storage: Storage, bufferDir: string, dbPath: string): Promise<void> {
  const database = await BufferDatabaseReader.open(dbPath);
  let filestore: FilestoreReader | undefined;
  try {
    filestore = await FilestoreReader.openDirectory(bufferDir, { storage, onWarning: (warning) => assert.fail(`unexpected warning: ${warning.message}`) });
    assert.deepEqual(filestore.metrics, database.task().metrics);
    const samples = database.samples();
    assert.deepEqual(
      filestore.samples().map((sample) => [sample.id, sample.epoch]),
      samples.map((sample) => [sample.id, sample.epoch]),
    );
    for (const sample of samples) {
      const data = await filestore.sampleData(sample.id, sample.epoch);
      assert.ok(data, `sample ${sample.id} is in the manifest`);
      const label = `sample ${sample.id}`;
      assert.deepEqual(data.sample.summary, sample.summary, `${label}: summary`);
      assert.deepEqual(data.events, database.events(sample.id, sample.epoch), `${label}: events`);
      assert.deepEqual(data.messagePool, database.messagePool(sample.id, sample.epoch), `${label}: message pool`);
      assert.deepEqual(data.callPool, database.callPool(sample.id, sample.epoch), `${label}: call pool`);
      assert.deepEqual(data.attachments, database.attachments(sample.id, sample.epoch), `${label}: attachments`);
      const metadata = database.sampleMetadata(sample.id, sample.epoch);
      assert.deepEqual(data.metadata, metadata.status === 'present' ? metadata.metadata : undefined, `${label}: metadata`);
      assert.deepEqual(data.damage, { skippedSegments: [], poolGap: undefined });
    }
  } finally {
    await filestore?.close();
    database.close();
  }
}

/** Member name → text, for every member of a stored segment. */
export async function segmentMembers(storage: Storage, location: string): Promise<Map<string, string>> {
  const zip = await ZipReader.open(storage.byteSource(location));
  try {
    const members = new Map<string, string>();
    for (const entry of zip.entries) members.set(entry.name, await zip.text(entry));
    return members;
  } finally {
    await zip.close();
  }
}
