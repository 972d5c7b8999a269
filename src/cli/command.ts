// The shape every `picotcp` subcommand has: a name, help text with examples, and a run function that
// returns the process exit status (0 success, 1 the job failed, 2 usage error), as picoapp's apps do.

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help: usage line, options, examples. */
  readonly help: string;
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** Thrown for bad command lines; main prints the message and the command's usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
