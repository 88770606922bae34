import { confirm, input } from '@inquirer/prompts';

/**
 * The person a runbook talks to. On a terminal the questions are asked with @inquirer/prompts
 * (on stderr, so `--json` keeps stdout to its one document); without one there is nobody to
 * ask, and the runner decides from flags and defaults or refuses.
 */
export interface RunbookPerson {
  /** Whether there is a terminal to ask on. */
  readonly interactive: boolean;
  /** Tell the person something (stderr). */
  say(text: string): void;
  ask(
    question: string,
    opts: { default?: string; validate: (v: string) => true | string },
  ): Promise<string>;
  confirm(question: string): Promise<boolean>;
}

/** The person at this process's terminal (or nobody, when stdin is not a TTY). */
export function terminalPerson(): RunbookPerson {
  const context = { input: process.stdin, output: process.stderr };
  return {
    interactive: process.stdin.isTTY === true,
    say: (text) => void process.stderr.write(`${text}\n`),
    ask: (message, o) =>
      input(
        { message, ...(o.default !== undefined && { default: o.default }), validate: o.validate },
        context,
      ),
    // Default no: a dangerous step needs an explicit yes.
    confirm: (message) => confirm({ message, default: false }, context),
  };
}
