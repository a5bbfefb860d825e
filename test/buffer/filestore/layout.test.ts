import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  filestoreDirForLog,
  isMetadataFileWithHash,
  metadataFileName,
  metadataKey,
  segmentFileName,
  segmentMemberName,
} from '../../../src/buffer/filestore/layout.js';
import { UsageError } from '../../../src/errors.js';

describe('filestore layout', () => {
  it('puts the filestore in <log dir>/.buffer/<log name without its last extension>', () => {
    assert.equal(
      filestoreDirForLog('logs/2026-08-01T10-00-00-00-00_mytask_Ab3x.eval'),
      'logs/.buffer/2026-08-01T10-00-00-00-00_mytask_Ab3x',
    );
    assert.equal(filestoreDirForLog('/data/run/a.b.eval'), '/data/run/.buffer/a.b');
    assert.equal(filestoreDirForLog('file:///data/run/x.eval'), '/data/run/.buffer/x');
  });

  it('does the same for logs on S3, at any depth', () => {
    assert.equal(filestoreDirForLog('s3://bucket/logs/deep/x.eval'), 's3://bucket/logs/deep/.buffer/x');
    assert.equal(filestoreDirForLog('s3://bucket/x.eval'), 's3://bucket/.buffer/x');
    assert.throws(() => filestoreDirForLog('s3://bucket'), UsageError);
  });

  it('names segments and their members as Inspect does (str(id), no escaping)', () => {
    assert.equal(segmentFileName(12), 'segment.12.zip');
    assert.equal(segmentMemberName('s-008', 1), 's-008_1.json');
    assert.equal(segmentMemberName(5, 2), '5_2.json');
  });

  it('derives the metadata key <K> from [str(id), epoch], matching the spec examples', () => {
    assert.equal(metadataKey('1', 1), '39881dfc408048aebe51f167d09dc9be89d6e976cd04b71fd27a71d91445dc32');
    assert.equal(metadataKey(1, 1), metadataKey('1', 1));
    assert.equal(metadataKey('s1', 1), 'faefcd0d2a5b9a15ffc0ad7b981bd26dda7c74ad80a1b15adb6f44dd4d1731e3');
    const pretty = '[\n  "s1",\n  1\n]';
    assert.equal(metadataKey('s1', 1), createHash('sha256').update(pretty).digest('hex'));
  });

  it('names side files metadata.<K>.<H>.json and recognises them by hash', () => {
    const hash = 'ab'.repeat(32);
    const name = metadataFileName('s1', 1, hash);
    assert.equal(name, `metadata.faefcd0d2a5b9a15ffc0ad7b981bd26dda7c74ad80a1b15adb6f44dd4d1731e3.${hash}.json`);
    assert.equal(isMetadataFileWithHash(name, hash), true);
    assert.equal(isMetadataFileWithHash(name, 'cd'.repeat(32)), false);
    assert.equal(isMetadataFileWithHash(`segment.${hash}.json`, hash), false);
  });
});
