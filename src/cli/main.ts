import { Command, CommanderError } from 'commander';
import { exitOnSignals } from '../bytes/exit-cleanup.js';
import { InspectRecoverError, UsageError } from '../errors.js';
import { defaultJobs } from '../recover/concurrency.js';
import { isIncompleteAction, isIncompleteMax, type IncompleteAction } from '../recover/finalization.js';
import type { FleetCommandOptions } from './fleet-command.js';
import type { RecoverCommandOptions } from './recover-command.js';
import { packageVersion } from './version.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('inspect-recover')
    .description('Recover crashed Inspect AI eval runs into complete .eval logs, and list the logs that need it.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand(false)
    .argument('[log]', 'crashed .eval log to recover (path or s3:// URI); with --list, --all or --clean, the directory to look in')
    .option('--list', 'list the logs that need recovery instead of recovering one')
    .option('--all', 'recover every crashed log under the directory, --jobs at a time')
    .option('--clean', 'delete the buffers of logs that finished, were recovered, were superseded by a newer attempt, or no longer exist')
    .option('--checkpoints', "with --clean: also delete orphaned agent checkpoints (a <base>.checkpoints/ whose log is gone); a log's own are never deleted")
    .option('--log-dir <dir>', 'where --list, --all and --clean look when no directory is given (path or s3:// URI; default: $INSPECT_LOG_DIR, else ./logs)')
    .option('--output <path>', 'where to write the recovered log (default: <log>-recovered.eval)')
    .option('--output-dir <dir>', 'with --all: write each recovered log here, at its path below the log dir (default: beside each log)')
    .option('--jobs <n>', `with --all: how many logs to recover at once (default ${defaultJobs})`, parseJobs)
    .option('--include-superseded', "with --all: recover older attempts of a task too (eval_set's retries); by default only the newest attempt of each task is recovered")
    .option('--min-idle <duration>', 'only recover a run whose last recorded activity is at least this old (e.g. 30m, 2h): for cron sweepers', parseDuration)
    .option('--dry-run', 'say what would be recovered or deleted, and change nothing')
    .option('--overwrite', 'replace the crashed log itself with the recovered one')
    .option('--no-events', 'leave events out of rebuilt samples (messages are still rebuilt)')
    .option('--cleanup', 'delete the sample buffer after recovering, also one named with --buffer or used with --no-events (kept by default)')
    .option('--no-cleanup', 'keep the sample buffer after recovering (by default it is deleted)')
    .option('--force', 'recover even if the buffer looks live (e.g. a pid reused after a reboot); the buffer is kept')
    .option('--json', 'print the result as JSON: one object for a recovery, an array for --list, one object per line (JSON Lines) for --all and --clean')
    .option('--quiet', 'print no progress and no success lines (errors, and warnings of lost data, still print)')
    .option('--strict', 'fail on the first warning (damaged segment, unreadable metadata...) instead of going on')
    .option('--data-dir <dir>', "Inspect's data dir, where buffer databases live (default: $XDG_DATA_HOME/inspect_ai)")
    .option('--buffer <path>', 'recover from this buffer instead of searching: a buffer database file or a .buffer/<name> directory (path or s3:// URI)')
    .option(
      '--stale-after <duration>',
      'a buffer without a heartbeat whose last recorded activity is younger than this may belong to a live run: it is recovered but kept (e.g. 30m, 2h; default 1h)',
      parseDuration,
    )
    .option('--incomplete-action <action>', 'samples still running at the crash: retry (default: cancelled, for eval-retry to run again) or error (ended as terminated by the operator; the log is finalized, status success, when every expected sample is then in it)', parseIncompleteAction)
    .option('--incomplete-max <n>', 'with --incomplete-action error: the most samples it may end so (a count, or below 1 a proportion of the expected samples); more, and they are left to be run again', parseIncompleteMax)
    .option('--max-entry-size <size>', 'the most a zip entry may declare to be decoded (default 512MiB) and to be parsed (default 64MiB); larger ones are refused as zip bombs (e.g. 2GiB)', parseSize)
    // Options after `show` belong to `show` (its own --json), not to the recover command.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(oneLineUsageError(text)) })
    .action(async (log: string | undefined, options: RecoverCommandOptions & FleetCommandOptions & { list?: boolean; all?: boolean; clean?: boolean; checkpoints?: boolean }) => {
      const modes = (['list', 'all', 'clean'] as const).filter((mode) => options[mode]);
      if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} are different commands; give one`);
      // `--list logs/` names the directory as `--log-dir logs/` does; given both ways, one would be ignored.
      if (modes.length > 0 && log !== undefined && options.logDir !== undefined) {
        throw new UsageError(`the directory is given twice (${log} and --log-dir ${options.logDir}); give one`);
      }
      if (options.checkpoints && !options.clean) throw new UsageError('--checkpoints is for --clean: nothing else ever deletes agent checkpoints');
      const logDir = log ?? options.logDir ?? defaultLogDir();
      // Each command's code loads when it runs: --version and --help load none of it.
      if (options.list) return (await import('./list-command.js')).listCommand({ ...options, logDir }, io);
      if (options.all || options.clean) {
        if (options.output !== undefined) throw new UsageError(`--${modes[0]} writes many logs: use --output-dir, not --output`);
        if (options.buffer !== undefined) throw new UsageError(`--buffer names the buffer of one log; --${modes[0]} finds each log's own`);
        const command = options.all ? (await import('./fleet-command.js')).fleetCommand : (await import('./clean-command.js')).cleanCommand;
        return setExitCode(await command({ ...options, logDir }, io));
      }
      if (options.outputDir !== undefined || options.jobs !== undefined || options.includeSuperseded) {
        throw new UsageError('--output-dir, --jobs and --include-superseded are for --all; to recover one log, use --output');
      }
      if (!log) throw new UsageError('a log to recover is required (or --list to find them, --all to recover them all); see --help');
      return (await import('./recover-command.js')).recoverCommand(log, options, io);
    });

  program
    .command('help')
    .description('show help for a command')
    .argument('[command]', 'show')
    .action((name: string | undefined) => {
      if (name === undefined) return program.outputHelp();
      const command = program.commands.find((candidate) => candidate.name() === name);
      if (!command || name === 'help') {
        throw new UsageError(`unknown command '${name}': the commands are show and help; --list, --all and --clean are options (inspect-recover --help)`);
      }
      command.outputHelp();
    });

  program
    .command('show')
    .description('print a status card for one .eval log')
    .argument('<log>', 'path or s3:// URI of the .eval log')
    .option('--json', 'print the same fields as JSON')
    .action(async (log: string, options: { json?: boolean }) => {
      const [{ evalLogStatus }, { formatStatusCard }, { checkpointsOf }, { storageFor }] = await Promise.all([
        import('../eval/log-status.js'),
        import('./show.js'),
        import('../recover/checkpoints.js'),
        import('../storage/storage-for.js'),
      ]);
      const storage = storageFor(log);
      const found = await evalLogStatus(log, storage);
      const checkpoints = await checkpointsOf(storage, log);
      const status = checkpoints ? { ...found, checkpoints } : found;
      // `--json show LOG` as well as `show LOG --json`.
      const json = options.json || program.opts<{ json?: boolean }>().json;
      io.stdout((json ? JSON.stringify(status, null, 2) : formatStatusCard(status)) + '\n');
    });
  return program;
}

/** Where --list, --all and --clean look when no directory is given: Inspect's own default. */
function defaultLogDir(): string {
  return process.env.INSPECT_LOG_DIR?.trim() ? process.env.INSPECT_LOG_DIR : './logs';
}

/** A positive whole number of jobs. */
function parseJobs(text: string): number {
  const jobs = Number(text);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`--jobs takes a whole number from 1 to 256, not ${JSON.stringify(text)}`);
  return jobs;
}

function parseIncompleteAction(text: string): IncompleteAction {
  if (!isIncompleteAction(text)) throw new UsageError(`--incomplete-action is retry or error, not ${JSON.stringify(text)}`);
  return text;
}

/** A whole number of samples, or a proportion between 0 and 1. */
function parseIncompleteMax(text: string): number {
  const max = Number(text);
  if (text.trim() === '' || !isIncompleteMax(max)) {
    throw new UsageError(`--incomplete-max takes a whole number of samples, or a proportion between 0 and 1 (e.g. 5, 0.02), not ${JSON.stringify(text)}`);
  }
  return max;
}

/** `90`, `90s`, `30m`, `2h`, `1d` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new UsageError(`not a duration: ${JSON.stringify(text)} (use e.g. 90s, 30m, 2h, 1d)`);
  const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** `1048576`, `64KiB`, `512MiB`, `2GiB` (or KB/MB/GB, also powers of 1024) → bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:(k|m|g)i?b)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`not a size: ${JSON.stringify(text)} (use e.g. 64MiB, 2GiB)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(match[1]) * unit);
}

/**
 * A reader that stops reading (`| head`) closes the pipe: like `git log | head`, end quietly
 * with exit 0 rather than with Node's EPIPE stack trace.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(0);
    });
  }
}

/** Commander's usage errors (`error: unknown option '--x'\n(Did you mean --y?)`) as one line in our format. */
function oneLineUsageError(text: string): string {
  return `inspect-recover: ${text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}\n`;
}

/**
 * Runs the CLI and returns its exit code: 0 done, 1 failed, 2 usage. Expected failures print
 * one line; anything else is a bug and says so.
 */
let processHandlersInstalled = false;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  if (!processHandlersInstalled) {
    processHandlersInstalled = true;
    quietOnClosedPipe();
    exitOnSignals();
  }
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    // With --json a script gets the failure as JSON on stdout too, never only as text.
    const json = argv.includes('--json');
    if (error instanceof InspectRecoverError) {
      io.stderr(`inspect-recover: ${error.message}\n`);
      if (json) io.stdout(`${JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2)}\n`);
      return error.exitCode;
    }
    io.stderr(`inspect-recover: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    if (json) io.stdout(`${JSON.stringify({ error: { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) } }, null, 2)}\n`);
    return 1;
  }
}
