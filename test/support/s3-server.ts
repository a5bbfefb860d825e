import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { S3StorageOptions } from '../../src/storage/s3-options.js';
import { S3Storage } from '../../src/storage/s3-storage.js';

/** A real S3-protocol server on loopback, with one empty bucket. */
export interface TestS3Server {
  endpoint: string;
  bucket: string;
  /** Options for more S3Storage instances against this server (fake credentials included). */
  options: S3StorageOptions;
  storage: S3Storage;
  stop(): Promise<void>;
}

const bucket = 'inspect-recover-test';
const startupDeadlineMs = 20_000;

/** S3 options for a local test server: fake credentials, us-east-1, path-style addressing. */
export function testS3Options(endpoint: string): S3StorageOptions {
  return { endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

/**
 * Options for an S3 suite: it runs wherever moto_server is available, throws on CI when it is
 * not (the S3 suite must never skip there), and skips otherwise. (s3rver was tried as a
 * pure-Node fallback: it has no object tagging, conditional reads, working CopyObject or list
 * paging past 1,000 keys, so the conformance suite cannot pass on it.)
 */
export function s3ServerAvailability(): { skip?: string } {
  if (findOnPath('moto_server') !== undefined) return {};
  const reason = 'no S3 test server: moto_server is not on PATH';
  if (process.env.CI) throw new Error(`${reason}; on CI the S3 suite must run`);
  return { skip: reason };
}

export async function startS3Server(): Promise<TestS3Server> {
  const server = await startMoto();
  const options = testS3Options(server.endpoint);
  const storage = new S3Storage(options);
  try {
    await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    storage.destroy();
    await server.stop();
    throw new Error(`cannot create the test bucket on ${server.endpoint}: ${(error as Error).message}`, { cause: error });
  }
  return {
    endpoint: server.endpoint,
    bucket,
    options,
    storage,
    async stop() {
      storage.destroy();
      await server.stop();
    },
  };
}

interface RunningServer {
  endpoint: string;
  stop(): Promise<void>;
}

async function startMoto(): Promise<RunningServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  // moto logs every request; keep draining the pipes (a full pipe would block it) and keep the tail for errors.
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  const stopOnExit = killOnExit(child);

  const stop = async () => {
    stopOnExit();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // Python normally exits at once on SIGTERM; SIGKILL if it hangs.
      const forceKill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(forceKill);
    }
  };

  const deadline = Date.now() + startupDeadlineMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    const early = await Promise.race([exited, delay(100).then(() => undefined)]);
    if (early !== undefined) {
      await stop();
      throw new Error(`moto_server on port ${port} ${early} before answering. Its output:\n${output}`);
    }
    try {
      const response = await fetch(`${endpoint}/`);
      await response.arrayBuffer();
      if (response.ok) return { endpoint, stop };
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer GET ${endpoint}/ within ${startupDeadlineMs / 1000} s (${lastProblem}). Its output:\n${output}`);
    }
  }
}

/** Kills the child if this process ends first (normal exit, or SIGINT/SIGTERM from a test runner); returns the undo. */
function killOnExit(child: ChildProcess): () => void {
  const kill = () => {
    child.kill('SIGTERM');
  };
  const killAndResignal = (signal: NodeJS.Signals) => {
    kill();
    removeHandlers();
    process.kill(process.pid, signal);
  };
  const removeHandlers = () => {
    process.off('exit', kill);
    process.off('SIGINT', killAndResignal);
    process.off('SIGTERM', killAndResignal);
  };
  process.on('exit', kill);
  process.on('SIGINT', killAndResignal);
  process.on('SIGTERM', killAndResignal);
  return removeHandlers;
}

/** A port nothing listens on right now: bind port 0, read it, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read the port of a loopback socket');
  return address.port;
}

export function findOnPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
