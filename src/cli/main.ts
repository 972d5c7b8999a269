// `picotcp`: the package's command, modeled on picoTCP's picoapp. Each subcommand lives in
// src/cli/commands/ and is registered below.

import type { Command, CommandIo } from './command.js';
import { UsageError } from './command.js';
import { commands } from './commands/index.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: picotcp <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'picotcp <command> --help' for a command's options and examples.\n`;
}

export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(`picotcp: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.help.endsWith('\n') ? cmd.help : `${cmd.help}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`picotcp ${name}: ${err.message}\n\n${cmd.help}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    io.stderr.write(`picotcp ${name}: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return 1;
  }
}
