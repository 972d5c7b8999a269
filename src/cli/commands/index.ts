import type { Command } from '../command.js';
import { decodeCommand } from './decode.js';

/** Registered subcommands, in the order `picotcp --help` lists them. */
export const commands: Command[] = [decodeCommand];
