import type { Command, CommanderError } from 'commander';
import { ErrorCodes } from '../events/index.js';
import { fail } from './connection.js';

/** Commander's exits that are not errors: help asked for, or shown for a bare `drover`. */
const NOT_ERRORS: ReadonlySet<string> = new Set([
  'commander.helpDisplayed',
  'commander.help',
  'commander.version',
]);

/** Whether the command line asks for JSON output (`--json` before any `--`). Pure. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Commander's message without its own `error: ` prefix, on one line. Pure. */
export function parseErrorMessage(err: CommanderError): string {
  return err.message
    .replace(/^error:\s*/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/**
 * Make commander's parse errors (unknown option or command, missing argument, bad option value,
 * excess arguments) speak the contract: `error: BAD_INPUT: <message>` on stderr, or the JSON
 * error document on stdout with `--json`, and exit 2; commander would print its own text and
 * exit 1. Help and version still print as commander does and exit with its code (0 when asked).
 * Call before registering the subcommands: they inherit both settings from `program`.
 */
export function contractParseErrors(program: Command, argv: readonly string[]): Command {
  const json = wantsJson(argv);
  return program
    .configureOutput({ outputError: () => undefined })
    .exitOverride((err: CommanderError) => {
      if (NOT_ERRORS.has(err.code)) process.exit(err.exitCode);
      fail(ErrorCodes.BadInput, parseErrorMessage(err), json, { parse: err.code });
    });
}
