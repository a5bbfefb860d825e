import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bufferDatabaseDir,
  bufferDatabaseFileName,
  bufferDatabasePathForLog,
  inspectDataDir,
  localLogDirUri,
  logDirHash,
  parseBufferDatabaseFileName,
} from '../../../src/buffer/database/location.js';
import { sha256Hex } from './buffer-database-helpers.js';

describe('inspectDataDir', () => {
  it('uses $XDG_DATA_HOME/inspect_ai on Linux when set', () => {
    assert.equal(inspectDataDir({ env: { XDG_DATA_HOME: '/x/data' }, platform: 'linux', homeDir: '/home/u' }), '/x/data/inspect_ai');
  });

  it('falls back to ~/.local/share/inspect_ai when XDG_DATA_HOME is unset or blank', () => {
    assert.equal(inspectDataDir({ env: {}, platform: 'linux', homeDir: '/home/u' }), '/home/u/.local/share/inspect_ai');
    assert.equal(inspectDataDir({ env: { XDG_DATA_HOME: '  ' }, platform: 'linux', homeDir: '/home/u' }), '/home/u/.local/share/inspect_ai');
  });

  it('uses Application Support on macOS, ignoring XDG_DATA_HOME', () => {
    assert.equal(
      inspectDataDir({ env: { XDG_DATA_HOME: '/x' }, platform: 'darwin', homeDir: '/Users/u' }),
      '/Users/u/Library/Application Support/inspect_ai',
    );
  });

  it('uses %LOCALAPPDATA%\\inspect_ai\\inspect_ai on Windows', () => {
    assert.equal(
      inspectDataDir({ env: { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, platform: 'win32', homeDir: 'C:\\Users\\u' }),
      'C:\\Users\\u\\AppData\\Local\\inspect_ai\\inspect_ai',
    );
    assert.equal(inspectDataDir({ env: {}, platform: 'win32', homeDir: 'C:\\Users\\u' }), 'C:\\Users\\u\\AppData\\Local\\inspect_ai\\inspect_ai');
  });
});

describe('log dir URI and hash', () => {
  it('is file:// + the absolute path, without a trailing slash', () => {
    assert.equal(localLogDirUri('/home/u/proj/logs', 'linux'), 'file:///home/u/proj/logs');
    assert.equal(localLogDirUri('/home/u/proj/logs/', 'linux'), 'file:///home/u/proj/logs');
  });

  it('does not percent-encode or normalise the path (fsspec does neither)', () => {
    assert.equal(localLogDirUri('/home/u/my logs/100%/é/../x', 'linux'), 'file:///home/u/my logs/100%/é/../x');
  });

  it('uses forward slashes for a Windows path', () => {
    assert.equal(localLogDirUri('C:\\Users\\u\\logs', 'win32'), 'file://C:/Users/u/logs');
  });

  it('hashes the URI as lowercase hex SHA-256 of its UTF-8 bytes, trailing separators stripped', () => {
    assert.equal(logDirHash('file:///home/u/my logs/é'), sha256Hex('file:///home/u/my logs/é'));
    assert.equal(logDirHash('file:///home/u/logs/'), logDirHash('file:///home/u/logs'));
    assert.equal(logDirHash('file:///home/u/logs\\'), logDirHash('file:///home/u/logs'));
    assert.match(logDirHash('s3://bucket/prefix'), /^[0-9a-f]{64}$/);
  });

  it('puts the DBs of a log dir in <data dir>/samplebuffer/<hash>', () => {
    assert.equal(bufferDatabaseDir('file:///r/logs', '/d/inspect_ai'), `/d/inspect_ai/samplebuffer/${sha256Hex('file:///r/logs')}`);
  });
});

describe('DB file names', () => {
  it('names a DB <log file name>.<pid>.db and parses it back', () => {
    const name = bufferDatabaseFileName('2026-01-01T00-00-00-00-00_task_abc.eval', 4242);
    assert.equal(name, '2026-01-01T00-00-00-00-00_task_abc.eval.4242.db');
    assert.deepEqual(parseBufferDatabaseFileName(name), { logFileName: '2026-01-01T00-00-00-00-00_task_abc.eval', pid: 4242 });
  });

  it('splits on the last two dots', () => {
    assert.deepEqual(parseBufferDatabaseFileName('a.b.c.eval.7.db'), { logFileName: 'a.b.c.eval', pid: 7 });
  });

  it('rejects names without a numeric pid or not ending in .db', () => {
    assert.equal(parseBufferDatabaseFileName('x.eval.abc.db'), undefined);
    assert.equal(parseBufferDatabaseFileName('x.eval.db'), undefined);
    assert.equal(parseBufferDatabaseFileName('x.eval.12.db-wal'), undefined);
    assert.equal(parseBufferDatabaseFileName('x.eval.-12.db'), undefined);
  });

  it('gives the DB path a process would use for a local log', () => {
    assert.equal(
      bufferDatabasePathForLog('/r/logs/x.eval', { pid: 42, dataDir: '/d/inspect_ai' }),
      `/d/inspect_ai/samplebuffer/${sha256Hex('file:///r/logs')}/x.eval.42.db`,
    );
    assert.match(bufferDatabasePathForLog('/r/logs/x.eval', { dataDir: '/d' }), new RegExp(`/x\\.eval\\.${process.pid}\\.db$`));
  });
});
