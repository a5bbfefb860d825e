/** The MessageAccumulator (recovery.md §4.1.5): Inspect's test_recover_reconstruct.py accumulator cases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyModelOutput, MessageAccumulator, messageText } from '../../src/recover/message-accumulator.js';

type Message = Record<string, unknown>;
type Event = Record<string, unknown>;

const user = (content: string, id?: string): Message => ({ role: 'user', content, ...(id ? { id } : {}) });
const assistant = (content: string, id?: string): Message => ({ role: 'assistant', content, ...(id ? { id } : {}) });
const system = (content: string, id?: string): Message => ({ role: 'system', content, ...(id ? { id } : {}) });

function model(input: Message[], reply: string, role?: string | null): Event {
  return {
    event: 'model',
    ...(role === undefined ? {} : { role }),
    model: 'mockllm/model',
    input,
    output: { model: 'mockllm/model', choices: [{ message: assistant(reply), stop_reason: 'stop' }], completion: reply },
  };
}

const compaction = (type: 'summary' | 'trim' | 'edit', role?: string): Event => ({ event: 'compaction', type, ...(role ? { role } : {}) });

function accumulate(...chunks: Event[][]): ReturnType<MessageAccumulator['result']> {
  const accumulator = new MessageAccumulator();
  for (const chunk of chunks) {
    for (const event of chunk) accumulator.add(event, (e) => e.input as Message[]);
    accumulator.result(); // reading between chunks must not disturb the state
  }
  return accumulator.result();
}

const contents = (messages: Message[]) => messages.map((message) => `${message.role as string}:${messageText(message)}`);

/** Two primary calls (the second carrying the whole history), a summary compaction, one more call: 4 + 3 messages. */
const summaryStory: Event[] = [
  model([user('1')], 'a1'),
  model([user('1'), assistant('a1'), user('2')], 'a2'),
  compaction('summary'),
  model([system('summary of 1 and 2'), user('3')], 'a3'),
];

describe('MessageAccumulator', () => {
  it('one model event: its input and reply; its output', () => {
    const event = model([user('What is 3 + 8?')], '11');
    const { messages, output } = accumulate([event]);
    assert.deepEqual(contents(messages), ['user:What is 3 + 8?', 'assistant:11']);
    assert.deepEqual(output, event.output);
  });

  it('two model events: the conversation of the last one, and its output', () => {
    const last = model([user('1'), assistant('a1'), user('2')], 'a2');
    const { messages, output } = accumulate([model([user('1')], 'a1'), last]);
    assert.deepEqual(contents(messages), ['user:1', 'assistant:a1', 'user:2', 'assistant:a2']);
    assert.deepEqual(output, last.output);
  });

  it('no model events (none at all, or only a step event): no messages, the default output', () => {
    for (const events of [[], [{ event: 'step', action: 'begin', name: 'solver' }]]) {
      const { messages, output } = accumulate(events);
      assert.deepEqual(messages, []);
      assert.deepEqual(output, { model: '', choices: [], completion: '' });
      assert.deepEqual(output, emptyModelOutput());
    }
  });

  it('a model event without choices contributes its input only, and its output', () => {
    const pending = { ...model([user('1')], 'x'), output: { model: 'mockllm/model', choices: [], completion: '' } };
    const { messages, output } = accumulate([pending]);
    assert.deepEqual(contents(messages), ['user:1']);
    assert.deepEqual(output, pending.output);
  });

  describe('roles (multi-agent solvers)', () => {
    it('interleaved auditor and target, target last: the first role (auditor) is followed', () => {
      const { messages, output } = accumulate([
        model([user('audit 1')], 'auditor 1', 'auditor'),
        model([user('target 1')], 'target 1', 'target'),
        model([user('audit 1'), assistant('auditor 1'), user('audit 2')], 'auditor 2', 'auditor'),
        model([user('target 2')], 'target 2', 'target'),
      ]);
      assert.deepEqual(contents(messages), ['user:audit 1', 'assistant:auditor 1', 'user:audit 2', 'assistant:auditor 2']);
      assert.equal(output.completion, 'auditor 2');
    });

    it('the primary role is the role of the first model event: target first gives the target conversation', () => {
      const { messages, output } = accumulate([
        model([user('target 1')], 'target 1', 'target'),
        model([user('audit 1')], 'auditor 1', 'auditor'),
      ]);
      assert.deepEqual(contents(messages), ['user:target 1', 'assistant:target 1']);
      assert.equal(output.completion, 'target 1');
    });

    it('a null role is a role: a later named role is foreign', () => {
      const { messages } = accumulate([model([user('main')], 'main reply'), model([user('sub')], 'sub reply', 'helper')]);
      assert.deepEqual(contents(messages), ['user:main', 'assistant:main reply']);
    });

    it('the primary role persists across chunks', () => {
      const { messages } = accumulate(
        [model([user('audit 1')], 'auditor 1', 'auditor')],
        [model([user('target 1')], 'target 1', 'target')],
        [model([user('target 2')], 'target 2', 'target')],
      );
      assert.deepEqual(contents(messages), ['user:audit 1', 'assistant:auditor 1']);
    });

    it('a compaction with the primary role survives a foreign event in between: 5 messages', () => {
      const { messages, output } = accumulate([
        model([user('p1')], 'p1 out', 'auditor'),
        model([user('f1')], 'f1 out', 'target'),
        compaction('summary', 'auditor'),
        model([system('summary'), user('p2')], 'p2 out', 'auditor'),
      ]);
      assert.deepEqual(contents(messages), ['user:p1', 'assistant:p1 out', 'system:summary', 'user:p2', 'assistant:p2 out']);
      assert.equal(output.completion, 'p2 out');
    });

    it('a compaction without a role after a foreign event belongs to that role: the primary conversation is untouched', () => {
      const { messages } = accumulate([
        model([user('p1')], 'p1 out', 'auditor'),
        model([user('f1')], 'f1 out', 'target'),
        compaction('summary'),
        model([user('p1'), assistant('p1 out'), user('p2')], 'p2 out', 'auditor'),
      ]);
      assert.deepEqual(contents(messages), ['user:p1', 'assistant:p1 out', 'user:p2', 'assistant:p2 out']);
    });

    it('a compaction of a foreign role is ignored (3 messages from the last primary call)', () => {
      const { messages } = accumulate([
        model([user('p1')], 'p1 out', 'auditor'),
        model([user('f1')], 'f1 out', 'target'),
        compaction('summary', 'target'),
        model([user('p1'), user('p2')], 'p2 out', 'auditor'),
      ]);
      assert.deepEqual(contents(messages), ['user:p1', 'user:p2', 'assistant:p2 out']);
    });
  });

  describe('compactions', () => {
    it('summary: the pre-compaction conversation (4) is kept ahead of the post one (3); output from the last event', () => {
      const { messages, output } = accumulate(summaryStory);
      assert.deepEqual(contents(messages), ['user:1', 'assistant:a1', 'user:2', 'assistant:a2', 'system:summary of 1 and 2', 'user:3', 'assistant:a3']);
      assert.equal(output.completion, 'a3');
    });

    it('summary: the same when the compaction boundary falls between chunks', () => {
      for (let cut = 0; cut <= summaryStory.length; cut++) {
        assert.deepEqual(accumulate(summaryStory.slice(0, cut), summaryStory.slice(cut)), accumulate(summaryStory), `cut at ${cut}`);
      }
    });

    it('trim (message ids match): the dropped prefix [user1, assistant1] then the post-trim conversation: 4', () => {
      const { messages } = accumulate([
        model([user('1', 'u1'), assistant('a1', 'm1'), user('2', 'u2')], 'a2'),
        compaction('trim'),
        model([user('2', 'u2')], 'a3'),
      ]);
      assert.deepEqual(contents(messages), ['user:1', 'assistant:a1', 'user:2', 'assistant:a3']);
    });

    it('trim without ids: the first message with the same role and text marks the cut', () => {
      const { messages } = accumulate([
        model([system('sys'), user('1'), assistant('a1'), user('2')], 'a2'),
        compaction('trim'),
        model([user('2'), assistant('a2'), user('3')], 'a3'),
      ]);
      assert.deepEqual(contents(messages), ['system:sys', 'user:1', 'assistant:a1', 'user:2', 'assistant:a2', 'user:3', 'assistant:a3']);
    });

    it('trim whose later conversation shares nothing with the earlier one: nothing of the earlier one is kept', () => {
      const { messages } = accumulate([model([user('1')], 'a1'), compaction('trim'), model([user('fresh start')], 'a2')]);
      assert.deepEqual(contents(messages), ['user:fresh start', 'assistant:a2']);
    });

    it('trim with no later primary call: the pre-trim messages are lost (as in Inspect)', () => {
      const { messages, output } = accumulate([model([user('1')], 'a1'), compaction('trim')]);
      assert.deepEqual(messages, []);
      assert.equal(output.completion, 'a1');
    });

    it('edit is transparent: the 4 messages of the last event', () => {
      const { messages } = accumulate([
        model([user('1')], 'a1'),
        compaction('edit'),
        model([user('1'), assistant('a1'), user('2')], 'a2'),
      ]);
      assert.deepEqual(contents(messages), ['user:1', 'assistant:a1', 'user:2', 'assistant:a2']);
    });

    it('a compaction before any model event does nothing', () => {
      const { messages } = accumulate([compaction('summary'), model([user('1')], 'a1')]);
      assert.deepEqual(contents(messages), ['user:1', 'assistant:a1']);
    });
  });

  describe('streaming', () => {
    it('feeding in two chunks gives what feeding at once gives (4 messages, last "4")', () => {
      const events = [
        model([user('1')], '2'),
        { event: 'info', data: 'between' },
        model([user('1'), assistant('2'), user('3')], '4'),
      ];
      const once = accumulate(events);
      assert.equal(once.messages.length, 4);
      assert.equal(messageText(once.messages.at(-1)!), '4');
      for (let cut = 0; cut <= events.length; cut++) assert.deepEqual(accumulate(events.slice(0, cut), events.slice(cut)), once);
    });

    it('1,000 model events without compaction: only the last is kept (2 messages, output r999)', () => {
      const events = Array.from({ length: 1000 }, (_, i) => model([user(`q${i}`)], `r${i}`));
      const { messages, output } = accumulate(events.slice(0, 500), events.slice(500));
      assert.deepEqual(contents(messages), ['user:q999', 'assistant:r999']);
      assert.equal(output.completion, 'r999');
    });

    it('result() hands out copies: changing them does not change the accumulator', () => {
      const accumulator = new MessageAccumulator();
      accumulator.add(model([user('1')], 'a1'), (e) => e.input as Message[]);
      accumulator.result().messages.push(user('intruder'));
      assert.equal(accumulator.result().messages.length, 2);
    });
  });

  it('messageText: string content, or text parts joined by newlines', () => {
    assert.equal(messageText(user('plain')), 'plain');
    assert.equal(
      messageText({ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image', image: 'data:' }, { type: 'text', text: 'b' }] }),
      'a\nb',
    );
    assert.equal(messageText({ role: 'user' }), '');
  });
});
