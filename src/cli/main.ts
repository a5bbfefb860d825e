import { Command, CommanderError } from 'commander';
import { InspectRecoverError } from '../errors.js';
import { evalLogStatus } from '../eval/log-status.js';
import { formatStatusCard } from './show.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

function buildProgram(io: CliIo): Command {
  const program = new Command('inspect-recover')
    .description('Inspect AI eval logs: show their state, and recover crashed runs.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('show')
    .description('print a status card for one .eval log')
    .argument('<log>', 'path or s3:// URI of the .eval log')
    .option('--json', 'print the same fields as JSON')
    .action(async (log: string, options: { json?: boolean }) => {
      const status = await evalLogStatus(log);
      io.stdout((options.json ? JSON.stringify(status, null, 2) : formatStatusCard(status)) + '\n');
    });
  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 done, 1 failed, 2 usage. Expected failures print
 * one line; anything else is a bug and says so.
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof InspectRecoverError) {
      io.stderr(`inspect-recover: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`inspect-recover: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
