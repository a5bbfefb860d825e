/** Rebuilding one sample from its buffer data (recovery.md §4.1, §4.3): test_recover_reconstruct.py and our additions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortUuid } from '../../src/buffer/short-uuid.js';
import { cancelledError, reconstructSample } from '../../src/recover/reconstruct-sample.js';
import type { BufferedSample } from '../../src/buffer/buffered-sample.js';
import { resolveEventsData } from '../support/recovery-inputs.js';

type Json = Record<string, unknown>;

const userMessage = { id: 'u1', role: 'user', content: 'What is 3 + 8?' };
const reply = (content: string) => ({ id: 'r1', role: 'assistant', content, source: 'generate' });
const modelOutput = (content: string) => ({ model: 'mockllm/model', choices: [{ message: reply(content), stop_reason: 'stop' }], completion: content });

function modelEvent(content = '11', extra: Json = {}): Json {
  return { event: 'model', uuid: 'model-1', model: 'mockllm/model', input: [userMessage], output: modelOutput(content), ...extra };
}

function completedSummary(extra: Json = {}): Json {
  return {
    id: 7,
    epoch: 1,
    input: 'What is 3 + 8?',
    target: '11',
    metadata: { from: 'summary' },
    scores: { match: { value: 'C', answer: '11', history: [] } },
    model_usage: { 'mockllm/model': { input_tokens: 10, output_tokens: 5, total_tokens: 15 } },
    role_usage: {},
    model_fallbacks: [{ from: 'a', to: 'b' }],
    turn_count: 3,
    token_limit: 5000,
    token_limit_type: 'total',
    token_limit_usage: 42,
    started_at: '2026-11-22T12:00:00+00:00',
    completed_at: '2026-11-22T12:00:02+00:00',
    total_time: 2,
    working_time: 1.5,
    uuid: 'UuidOfSampleSeven00000',
    completed: true,
    ...extra,
  };
}

function inProgressSummary(extra: Json = {}): Json {
  return { id: 's-006', epoch: 1, input: 'What is 3 + 8?', target: '11', metadata: { from: 'summary' }, model_usage: {}, role_usage: {}, uuid: 'UuidOfSampleSix0000000', completed: false, ...extra };
}

function buffered(overrides: Partial<BufferedSample> = {}): BufferedSample {
  return { summary: completedSummary(), completed: true, events: [modelEvent()], attachments: new Map(), messagePool: [], callPool: [], ...overrides };
}

const roles = (sample: Json) => (sample.messages as Json[]).map((message) => message.role);

/** EvalSample's keys, in the order of Inspect's streaming writer (recovery.md §4.3). */
const sampleKeys = [
  'id', 'epoch', 'choices', 'target', 'events', 'sandbox', 'files', 'setup', 'metadata', 'scores', 'store',
  'model_usage', 'role_usage', 'model_fallbacks', 'turn_count', 'token_limit', 'token_limit_type', 'token_limit_usage', 'started_at',
  'completed_at', 'total_time', 'working_time', 'uuid', 'timelines', 'invalidation', 'error', 'error_retries', 'limit',
  'input', 'messages', 'output', 'attachments', 'events_data',
];

describe('reconstructSample', () => {
  it('a completed sample with one model event: the summary fields, messages [user, assistant], the output, one event', () => {
    const { sample, summary, uuidSynthesized } = reconstructSample(buffered());
    assert.deepEqual(Object.keys(sample), sampleKeys, 'every EvalSample key, in Inspect order');
    assert.equal(sample.id, 7);
    assert.equal(sample.epoch, 1);
    assert.equal(sample.input, 'What is 3 + 8?');
    assert.equal(sample.target, '11');
    assert.deepEqual(sample.scores, { match: { value: 'C', answer: '11', history: [] } });
    assert.equal(sample.error, null);
    assert.deepEqual(sample.model_fallbacks, [{ from: 'a', to: 'b' }]);
    assert.equal(sample.turn_count, 3);
    assert.equal(sample.token_limit, 5000);
    assert.equal(sample.token_limit_type, 'total');
    assert.equal(sample.token_limit_usage, 42);
    assert.equal(sample.started_at, '2026-11-22T12:00:00+00:00');
    assert.equal(sample.completed_at, '2026-11-22T12:00:02+00:00');
    assert.equal(sample.total_time, 2);
    assert.equal(sample.working_time, 1.5);
    assert.deepEqual(sample.model_usage, completedSummary().model_usage);
    assert.deepEqual(roles(sample), ['user', 'assistant']);
    assert.deepEqual(sample.output, modelOutput('11'));
    assert.equal((sample.events as Json[]).length, 1);
    assert.deepEqual(sample.store, {});
    for (const absent of ['timelines', 'invalidation', 'error_retries', 'limit', 'sandbox', 'files', 'setup', 'events_data']) assert.equal(sample[absent], null, absent);
    assert.equal(uuidSynthesized, false);
    assert.equal(sample.uuid, 'UuidOfSampleSeven00000');
    // Its summary row: complete, with the message count.
    assert.equal(summary.completed, true);
    assert.equal(summary.message_count, 2);
    assert.equal(summary.error, undefined);
    assert.deepEqual(summary.scores, completedSummary().scores);
  });

  it('epoch 3 is kept', () => {
    const { sample, summary } = reconstructSample(buffered({ summary: completedSummary({ epoch: 3 }) }));
    assert.equal(sample.epoch, 3);
    assert.equal(summary.epoch, 3);
  });

  it('an in-progress sample: CancelledError, no scores, no timing, messages still extracted; its summary says so too', () => {
    const { sample, summary } = reconstructSample(buffered({ summary: inProgressSummary(), completed: false }));
    assert.deepEqual(sample.error, cancelledError);
    assert.deepEqual(sample.error, {
      message: 'CancelledError()',
      traceback: 'CancelledError: recovered from crashed eval\n',
      traceback_ansi: 'CancelledError: recovered from crashed eval\n',
    });
    assert.match((sample.error as Json).traceback as string, /recovered from crashed eval/);
    assert.equal(sample.scores, null);
    for (const field of ['started_at', 'completed_at', 'total_time', 'working_time']) assert.equal(sample[field], null, field);
    assert.deepEqual(roles(sample), ['user', 'assistant']);
    assert.equal(summary.error, 'CancelledError()');
    assert.equal(summary.completed, true, 'recovered summaries are always complete');
  });

  it('a sample completed with an error: the message becomes an error object (the traceback is not in the buffer), no scores', () => {
    const summary = completedSummary({ error: 'RateLimitError: rate limit', scores: undefined });
    const { sample, summary: row } = reconstructSample(buffered({ summary }));
    assert.deepEqual(sample.error, { message: 'RateLimitError: rate limit', traceback: 'RateLimitError: rate limit\n', traceback_ansi: 'RateLimitError: rate limit\n' });
    assert.equal(sample.scores, null);
    assert.equal(row.error, 'RateLimitError: rate limit');
  });

  it('only a step event: no messages, the default output, the event kept', () => {
    const { sample } = reconstructSample(buffered({ events: [{ event: 'step', action: 'begin', name: 'generate' }] }));
    assert.deepEqual(sample.messages, []);
    assert.deepEqual(sample.output, { model: '', choices: [], completion: '' });
    assert.equal((sample.events as Json[]).length, 1);
  });

  it('no events at all: no messages, the default output, events [], timelines and events_data null', () => {
    const { sample, summary } = reconstructSample(buffered({ events: [] }));
    assert.deepEqual(sample.messages, []);
    assert.deepEqual(sample.output, { model: '', choices: [], completion: '' });
    assert.deepEqual(sample.events, []);
    assert.equal(sample.timelines, null);
    assert.equal('events_data' in sample, true);
    assert.equal(sample.events_data, null);
    assert.equal(summary.message_count, 0);
  });

  describe('uuid', () => {
    it('a summary without uuid gets a fresh 22-character one, and says so', () => {
      const summary = inProgressSummary();
      delete summary.uuid;
      const first = reconstructSample(buffered({ summary, completed: false }));
      const second = reconstructSample(buffered({ summary, completed: false }));
      assert.equal(first.uuidSynthesized, true);
      assert.match(first.sample.uuid as string, /^[23456789A-HJ-NP-Za-km-z]{22}$/);
      assert.equal(first.summary.uuid, first.sample.uuid, 'the summary row carries the same uuid');
      assert.notEqual(first.sample.uuid, second.sample.uuid);
      assert.equal(shortUuid().length, 22);
    });

    it('an empty uuid counts as missing; a present one is kept', () => {
      assert.equal(reconstructSample(buffered({ summary: completedSummary({ uuid: '' }) })).uuidSynthesized, true);
      const kept = reconstructSample(buffered({ summary: inProgressSummary({ uuid: 'StartedWithThisUuid000' }), completed: false }));
      assert.equal(kept.sample.uuid, 'StartedWithThisUuid000');
      assert.equal(kept.uuidSynthesized, false);
    });
  });

  describe('metadata: full (stored by the buffer) > sample_init > summary', () => {
    const init = (metadata: unknown) => ({ event: 'sample_init', sample: { input: 'x', target: '11', ...(metadata === undefined ? {} : { metadata }) }, state: {} });

    it('the full metadata wins over everything', () => {
      const { sample } = reconstructSample(buffered({ metadata: { from: 'full', big: 'x'.repeat(2000) }, events: [init({ from: 'init' }), modelEvent()] }));
      assert.deepEqual(sample.metadata, { from: 'full', big: 'x'.repeat(2000) });
    });

    it('then the first sample_init event', () => {
      const { sample } = reconstructSample(buffered({ events: [init({ from: 'init' }), init({ from: 'second init' }), modelEvent()] }));
      assert.deepEqual(sample.metadata, { from: 'init' });
    });

    it('then the (thinned) summary, also when sample_init has null or no metadata', () => {
      for (const metadata of [null, undefined]) {
        const { sample } = reconstructSample(buffered({ events: [init(metadata), modelEvent()] }));
        assert.deepEqual(sample.metadata, { from: 'summary' }, String(metadata));
      }
    });

    it('an empty sample_init metadata is a value: {}', () => {
      assert.deepEqual(reconstructSample(buffered({ events: [init({}), modelEvent()] })).sample.metadata, {});
    });
  });

  describe('sample_init and sample_limit', () => {
    it('files become the list of their names; setup and sandbox are copied', () => {
      const init = { event: 'sample_init', sample: { input: 'x', target: '11', files: { 'a.txt': 'data', 'b/c.txt': 'more' }, setup: 'echo hi', sandbox: { type: 'local' } }, state: {} };
      const { sample } = reconstructSample(buffered({ events: [init, modelEvent()] }), { evalSandbox: { type: 'docker' } });
      assert.deepEqual(sample.files, ['a.txt', 'b/c.txt']);
      assert.equal(sample.setup, 'echo hi');
      assert.deepEqual(sample.sandbox, { type: 'local' });
    });

    it('without sample_init: the eval-level sandbox; files and setup null; empty files null', () => {
      assert.deepEqual(reconstructSample(buffered(), { evalSandbox: { type: 'docker' } }).sample.sandbox, { type: 'docker' });
      const init = { event: 'sample_init', sample: { input: 'x', target: '11', files: {} }, state: {} };
      const { sample } = reconstructSample(buffered({ events: [init] }));
      assert.equal(sample.files, null);
      assert.equal(sample.setup, null);
      assert.equal(sample.sandbox, null);
    });

    it('the full input and target come from sample_init, not the truncated summary', () => {
      const long = 'y'.repeat(6000);
      const init = { event: 'sample_init', sample: { input: long, target: ['11', 'eleven'] }, state: {} };
      const summary = completedSummary({ input: `${long.slice(0, 5120)}...\n(content truncated)` });
      const { sample } = reconstructSample(buffered({ summary, events: [init, modelEvent()] }));
      assert.equal(sample.input, long);
      assert.deepEqual(sample.target, ['11', 'eleven']);
    });

    it('sample_limit: the last one with a limit becomes `limit`, and the summary names its type', () => {
      const limit = (type: string, value: number | null) => ({ event: 'sample_limit', type, message: `${type} limit`, limit: value });
      const { sample, summary } = reconstructSample(buffered({ events: [modelEvent(), limit('message', 10), limit('token', 1000)] }));
      assert.deepEqual(sample.limit, { type: 'token', limit: 1000 });
      assert.equal(summary.limit, 'token');
      assert.equal(reconstructSample(buffered({ events: [modelEvent(), limit('operator', null)] })).sample.limit, null);
    });
  });

  describe('events', () => {
    it('noEvents: events [] and no events_data, but messages and output are still extracted', () => {
      const pooled = buffered({ events: [modelEvent('11', { input: [], input_refs: [[0, 1]] })], messagePool: [userMessage] });
      const { sample } = reconstructSample(pooled, { noEvents: true });
      assert.deepEqual(sample.events, []);
      assert.equal(sample.events_data, null);
      assert.deepEqual(roles(sample), ['user', 'assistant']);
      assert.equal((sample.output as Json).completion, '11');
    });

    it('events_data is null when there are no pools, and carries both pools when there is one', () => {
      assert.equal(reconstructSample(buffered()).sample.events_data, null);
      const call = { event: 'model', model: 'm', input: [], input_refs: [[0, 1]], output: modelOutput('11'), call: { request: { model: 'm' }, call_refs: [[0, 1]], call_key: 'messages' } };
      const { sample } = reconstructSample(buffered({ events: [call], messagePool: [userMessage], callPool: [{ role: 'user', content: 'raw' }] }));
      assert.deepEqual(sample.events_data, { messages: [userMessage], calls: [{ role: 'user', content: 'raw' }] });
    });

    it('input_refs resolve through the message pool for the messages; the event stays condensed and resolves on read', () => {
      const events = [modelEvent('11', { input: [], input_refs: [[0, 1]] })];
      const { sample } = reconstructSample(buffered({ events, messagePool: [userMessage] }));
      assert.deepEqual(sample.messages, [userMessage, reply('11')]);
      const [event] = sample.events as Json[];
      assert.deepEqual(event!.input, []);
      assert.deepEqual(event!.input_refs, [[0, 1]]);
      const [resolved] = resolveEventsData(sample);
      assert.deepEqual(resolved!.input, [userMessage]);
    });

    it('call_refs: the call pool is written, so request.messages is restored on read', () => {
      const callPool = [{ role: 'user', content: 'What is 3 + 8?' }, { role: 'assistant', content: '11' }];
      const call = { request: { model: 'm', temperature: 0 }, response: {}, call_refs: [[0, 2]], call_key: 'messages' };
      const { sample } = reconstructSample(buffered({ events: [modelEvent('11', { call })], callPool }));
      const [resolved] = resolveEventsData(sample);
      assert.deepEqual((resolved!.call as Json).request, { model: 'm', temperature: 0, messages: callPool });
      assert.equal((resolved!.call as Json).call_refs, null);
    });

    it('a pool gap: refs reaching past the sound rows are dropped (not resolved to the wrong messages); refs within stay', () => {
      const pool = [{ role: 'system', content: 'sys' }, userMessage, { role: 'user', content: 'shifted: wrong message' }];
      const events = [
        modelEvent('first', { uuid: 'm1', input: [], input_refs: [[0, 2]] }),
        modelEvent('second', { uuid: 'm2', input: [], input_refs: [[0, 1], [2, 3]], call: { request: {}, call_refs: [[0, 3]], call_key: 'messages' } }),
      ];
      const { sample, droppedRefs } = reconstructSample(
        buffered({ events, messagePool: pool, callPool: [1, 2, 3], soundPool: { messages: 2, calls: 1 } }),
      );
      assert.equal(droppedRefs, 1);
      const [first, second] = sample.events as Json[];
      assert.deepEqual(first!.input_refs, [[0, 2]]);
      assert.equal(second!.input_refs, null);
      assert.equal((second!.call as Json).call_refs, null);
      // The last primary call's input is unknown now: its reply alone, never the shifted row.
      assert.deepEqual(sample.messages, [reply('second')]);
      assert.ok(!JSON.stringify(sample.messages).includes('wrong message'));
    });

    it('without a gap the same refs resolve', () => {
      const events = [modelEvent('second', { input: [], input_refs: [[0, 1], [2, 3]] })];
      const pool = [{ role: 'system', content: 'sys' }, userMessage, { role: 'user', content: 'again' }];
      const { sample, droppedRefs } = reconstructSample(buffered({ events, messagePool: pool }));
      assert.equal(droppedRefs, 0);
      assert.deepEqual(sample.messages, [pool[0], pool[2], reply('second')]);
    });
  });

  describe('attachments', () => {
    const long = 'The answer, explained at length: '.padEnd(300, '.');
    const image = `data:image/png;base64,${'A'.repeat(200)}`;
    const attachments = new Map([
      ['hashlong', long],
      ['hashimage', image],
    ]);

    it('are carried into the sample; refs in output and messages are resolved, data URIs stay refs, events keep refs', () => {
      const event = {
        event: 'model',
        model: 'm',
        input: [{ role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', image: 'attachment://hashimage' }] }],
        output: modelOutput('attachment://hashlong'),
      };
      const { sample } = reconstructSample(buffered({ events: [event], attachments }));
      assert.deepEqual(sample.attachments, { hashlong: long, hashimage: image });
      const output = sample.output as { choices: { message: Json }[]; completion: string };
      assert.equal(output.choices[0]!.message.content, long);
      const messages = sample.messages as Json[];
      assert.equal(messages[1]!.content, long);
      assert.equal((messages[0]!.content as Json[])[1]!.image, 'attachment://hashimage', 'images stay attachments, as Inspect stores them');
      const [kept] = sample.events as Json[];
      assert.equal((kept!.output as typeof output).choices[0]!.message.content, 'attachment://hashlong');
    });

    it('an unknown ref stays as it is', () => {
      const { sample } = reconstructSample(buffered({ events: [modelEvent('attachment://nosuchhash')] }));
      assert.equal((sample.output as { completion: string }).completion, 'attachment://nosuchhash');
    });
  });
});
