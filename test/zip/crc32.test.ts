import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from '../../src/zip/crc32.js';
import { pythonCrc32, pythonSuiteOptions } from '../support/python-zip.js';
import { noise } from '../support/zip-test-helpers.js';

describe('crc32', () => {
  it('gives the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  });

  it('continues across chunks', () => {
    const data = noise(100_000);
    let running = 0;
    for (let at = 0; at < data.length; at += 7777) running = crc32(data.subarray(at, at + 7777), running);
    assert.equal(running, crc32(data));
    assert.ok(running >= 0 && running <= 0xffffffff, 'unsigned 32-bit');
  });

  it("agrees with Python's zlib.crc32", { ...pythonSuiteOptions() }, () => {
    const data = noise(65_537, 99);
    assert.equal(crc32(data), pythonCrc32(data));
  });
});
