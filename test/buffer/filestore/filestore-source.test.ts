/** The filestore as a recovery source (the shape recovery reads both buffer kinds in). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { FilestoreBufferSource } from '../../../src/buffer/filestore/filestore-source.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import type { RecoveryWarning } from '../../../src/warnings.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { useTempDir } from '../../support/temp-dir.js';
import { copyFixtureLayout } from './filestore-helpers.js';

describe('FilestoreBufferSource', conformanceSuiteOptions(), () => {
  const temp = useTempDir('filestore-source-');

  it('lists the manifest samples and reads each with pools parsed, and flags a pool gap as sound pool positions', async () => {
    const { bufferDir } = await copyFixtureLayout('crashed-filestore', join(temp.path, 'read'));
    await rm(join(bufferDir, 'segment.3.zip'));
    const warnings: RecoveryWarning[] = [];
    const source = await FilestoreBufferSource.open(bufferDir, { storage: new LocalStorage(), warn: (warning) => warnings.push(warning) });
    assert.equal(source.kind, 'filestore');
    assert.equal(source.location, bufferDir);
    const entries = await source.samples();
    assert.deepEqual(entries.map((entry) => [entry.id, entry.completed]), [[5, true], [7, false], [9, false], ['s-006', false], ['s-008', true], ['s-010', false]]);

    const nine = await source.read(entries[2]!);
    assert.equal(nine.events.length, 17);
    assert.equal(nine.messagePool.length, 2);
    assert.equal((nine.messagePool[0] as { role: string }).role, 'system');
    assert.equal(nine.soundPool, undefined);

    const five = await source.read(entries[0]!);
    assert.deepEqual(five.soundPool, { messages: 2, calls: 0 });
    assert.deepEqual(five.metadata, five.summary.metadata);
    assert.equal(five.summary.id, 5, 'read gives the summary, id typed as written');
    assert.deepEqual(warnings.map((warning) => warning.code), ['SEGMENT_UNREADABLE', 'POOL_GAP']);
    await source.close();
  });

  it('removes .buffer/<name>/ but not .buffer/', async () => {
    const { bufferDir } = await copyFixtureLayout('crashed-filestore', join(temp.path, 'remove'));
    const source = await FilestoreBufferSource.open(bufferDir, { storage: new LocalStorage(), warn: () => {} });
    await source.remove();
    assert.equal(existsSync(bufferDir), false);
    assert.equal(existsSync(dirname(bufferDir)), true);
  });
});
