import type { Command } from '../command.js';

/** Registered subcommands, in the order `picotcp --help` lists them. */
export const commands: Command[] = [];
