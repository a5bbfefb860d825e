/**
 * A liveness signal beside the manifest, which Inspect's filestore lacks: our writer rewrites
 * `heartbeat.json` (host, pid, time, sync interval) at every sync and, between syncs, every
 * sync interval while the run is alive (idle or not), so a reader on any machine
 * can tell a running writer from a crashed one without a pid check.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { JsonFormatError, NotFoundError } from '../../errors.js';
import { parsePythonJson } from '../../json/python-json.js';
import type { Storage } from '../../storage/storage.js';

/** A heartbeat is a few hundred bytes; anything much larger is not one. */
const heartbeatReadLimit = 64 * 1024;

export const heartbeatFileName = 'heartbeat.json';

export const HeartbeatSchema = z.looseObject({
  writer: z.string(),
  host: z.string(),
  pid: z.number().int(),
  time: z.string(),
  interval_seconds: z.number().positive(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export function heartbeat(intervalSeconds: number, now = new Date()): Heartbeat {
  return { writer: 'inspect-recover', host: hostname(), pid: process.pid, time: now.toISOString(), interval_seconds: intervalSeconds };
}

/** A heartbeat is fresh while less than three sync intervals (plus slack) have passed. */
export function isHeartbeatFresh(beat: Heartbeat, nowMs = Date.now()): boolean {
  return nowMs - Date.parse(beat.time) < (3 * beat.interval_seconds + 5) * 1000;
}

/** The heartbeat, or undefined when there is none or it cannot be read (then it tells nothing). */
export async function readHeartbeat(storage: Storage, location: string): Promise<Heartbeat | undefined> {
  try {
    const parsed = HeartbeatSchema.safeParse(parsePythonJson(Buffer.from(await storage.read(location, { maxBytes: heartbeatReadLimit })).toString('utf8'), location));
    return parsed.success && !Number.isNaN(Date.parse(parsed.data.time)) ? parsed.data : undefined;
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof JsonFormatError) return undefined;
    throw error;
  }
}
