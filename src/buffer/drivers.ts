/**
 * Every kind of sample buffer, in the order a log's buffer is looked for: the database first
 * (it holds the most, and is what Inspect itself recovers from), then the filestore beside the
 * log (what is left when the local disk is lost).
 */
import type { BufferDriver } from './buffer-driver.js';
import { databaseDriver } from './database/driver.js';
import { filestoreDriver } from './filestore/driver.js';

export const bufferDrivers: readonly BufferDriver[] = [databaseDriver, filestoreDriver];
