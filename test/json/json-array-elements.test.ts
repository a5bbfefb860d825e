import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonFormatError } from '../../src/errors.js';
import { jsonArrayElements } from '../../src/json/json-array-elements.js';

async function elements(text: string, chunkSize = text.length || 1): Promise<string[]> {
  const bytes = Buffer.from(text, 'utf8');
  async function* chunks() {
    for (let at = 0; at < bytes.length; at += chunkSize) yield bytes.subarray(at, at + chunkSize);
  }
  const found: string[] = [];
  for await (const elements of jsonArrayElements(chunks(), 'test.json')) {
    assert.ok(elements.length > 0, 'no empty batches');
    found.push(...elements);
  }
  return found;
}

describe('jsonArrayElements', () => {
  const tricky = [
    '{"id":"a,b]","input":"say \\"[}\\" \\\\","n":[1,[2,{"x":3}]]}',
    ' NaN ',
    '"é😀 multi-byte"',
    '[]',
    '{}',
    '-Infinity',
    '12345678901234567890',
  ];
  const document = `\n [ ${tricky.join(' ,\n')} ]\n`;

  it('gives each element of an array as its text, however the bytes are cut', async () => {
    for (const chunkSize of [1, 2, 3, 7, 64, document.length]) {
      assert.deepEqual(await elements(document, chunkSize), tricky.map((text) => text.trim()), `chunks of ${chunkSize} bytes`);
    }
  });

  it('hands a long array on in several batches, every element in order', async () => {
    const many = Array.from({ length: 400 }, (_, index) => JSON.stringify({ index, text: 'x'.repeat(2000) }));
    const bytes = Buffer.from(`[${many.join(',')}]`);
    const batches: string[][] = [];
    for await (const batch of jsonArrayElements((async function* () {
      yield bytes;
    })(), 'long.json')) batches.push(batch);
    assert.ok(batches.length > 1, `${batches.length} batch(es)`);
    assert.deepEqual(batches.flat(), many);
  });

  it('gives nothing for an empty array', async () => {
    assert.deepEqual(await elements('[]'), []);
    assert.deepEqual(await elements(' [ \n ] '), []);
  });

  it('refuses what is not one whole array, with one readable line', async () => {
    const cases: [string, string][] = [
      ['{"a":1}', 'it does not start with ['],
      ['', 'no array'],
      ['[1,2', 'it ends before its closing bracket'],
      ['["open string]', 'it ends before its closing bracket'],
      ['[1,]', 'a comma before the closing bracket'],
      ['[1,,2]', 'element 2 is empty'],
      ['[1] [2]', 'text after the closing bracket'],
      ['[1}]', 'its brackets do not balance'],
    ];
    for (const [text, reason] of cases) {
      await assert.rejects(elements(text), (error: unknown) => {
        assert.ok(error instanceof JsonFormatError, text);
        assert.match(error.message, new RegExp(`^test\\.json is not a valid JSON array: ${reason.replace(/[[\]]/g, '\\$&')}$`), text);
        return true;
      });
    }
  });
});
