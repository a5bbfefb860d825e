/**
 * The streaming scan agrees with Python's json.loads (how Inspect reads a log's entries) on
 * hand-picked cases and on thousands of damaged JSON documents, fed in pieces of every size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editJson, seededRandom } from '../../fuzz/mutations.js';
import { PythonJsonScan, pythonJsonMaxDepth } from '../../src/json/json-scan.js';
import { arithSample } from '../support/arith-log.js';
import { pythonLoadsEach } from '../support/python.js';

function scans(bytes: Uint8Array, piece: number): boolean {
  const scan = new PythonJsonScan('doc');
  try {
    for (let at = 0; at < bytes.length; at += piece) scan.push(bytes.subarray(at, at + piece));
    scan.finish();
    return true;
  } catch {
    return false;
  }
}

const cases: Array<string | Buffer> = [
  '[1]', '{"a": NaN, "b": -Infinity, "c": Infinity}', '{"a":1,}', '[01]', '[1.]', '[.5]', '[1e5]', '[-0.5E-3]', '"x', '', '  ', '[1] x',
  '{"a" 1}', '{1:2}', '["a\\u00zz"]', '["\\x"]', '["\t"]', 'nul', 'null', 'truex', '[true,false,null]', '-Infinity', '-Inf', '[]]', '[}',
  '{"a":[1,2,{"c":"é中😀"}]}', '1 2', '[1,]', '[,1]', '{"a":1 "b":2}', '-', '[-]', '1e', '1e+', '[1E-7]', '"\\ud800"',
  Buffer.from('5b22eda080225d', 'hex'), Buffer.from('5b22c080225d', 'hex'), Buffer.from('5b22e08080225d', 'hex'), Buffer.from('5b22f4908080225d', 'hex'),
  Buffer.from('5b22ff225d', 'hex'), Buffer.from('efbbbf5b315d', 'hex'), Buffer.from('5b22e282225d', 'hex'), Buffer.from('5b22f09f9880225d', 'hex'),
];

describe('PythonJsonScan', () => {
  it("agrees with Python's json.loads on hand-picked documents, fed in pieces of 1, 3 and whole", () => {
    const documents = cases.map((text) => (typeof text === 'string' ? Buffer.from(text, 'utf8') : text));
    const python = pythonLoadsEach(documents);
    documents.forEach((document, index) => {
      for (const piece of [1, 3, document.length || 1]) assert.equal(scans(document, piece), python[index], `${JSON.stringify(document.toString('utf8'))} in pieces of ${piece}`);
    });
  });

  it(`refuses nesting past ${pythonJsonMaxDepth} levels (Python's recursion limit, with room for its reader's frames) and accepts it up to there`, () => {
    const nested = (depth: number) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    assert.equal(scans(nested(pythonJsonMaxDepth), 4096), true);
    assert.equal(scans(nested(pythonJsonMaxDepth + 1), 4096), false);
    assert.equal(scans(nested(100_000), 4096), false);
    assert.deepEqual(pythonLoadsEach([nested(pythonJsonMaxDepth), nested(100_000)]), [true, false]);
  });

  it("agrees with Python's json.loads on 3,000 damaged samples (the fuzz campaign's JSON edits)", () => {
    const random = seededRandom(20261204);
    const text = JSON.stringify(arithSample(7, 1), null, 2);
    const documents = Array.from({ length: 3000 }, () => Buffer.from(editJson(text, random), 'utf8'));
    const python = pythonLoadsEach(documents);
    const disagreements = documents.filter((document, index) => scans(document, 1 + (index % 997)) !== python[index]);
    assert.deepEqual(disagreements.map((document) => document.toString('utf8').slice(0, 200)), []);
    assert.ok(python.filter(Boolean).length > 500 && python.filter((ok) => !ok).length > 500, 'both verdicts occur');
  });
});
