// Lint: typescript-eslint's recommended rules everywhere, plus the rule that keeps the pure
// folders pure (DESIGN.md): no NATS, no logger, no filesystem, no processes, no sockets, no
// clock and no randomness in src/events (vocabulary), src/actors, src/projections and
// src/policy (the scheduling policy and calendars). Those inputs arrive as data (`at`, `id`, `now`) from the shells.
import tseslint from 'typescript-eslint';

const impureModules = [
  { name: 'nats', message: 'pure code: NATS belongs in *.jetstream.ts / *.service.ts adapters' },
  { name: 'pino', message: 'pure code never logs: return data and let the shell log it' },
  { name: 'node:fs', message: 'pure code: no filesystem' },
  { name: 'node:fs/promises', message: 'pure code: no filesystem' },
  { name: 'fs', message: 'pure code: no filesystem' },
  { name: 'node:child_process', message: 'pure code: no processes' },
  { name: 'child_process', message: 'pure code: no processes' },
  { name: 'node:net', message: 'pure code: no sockets' },
  { name: 'node:crypto', message: 'pure code: ids and randomness are passed in' },
  { name: 'node:timers', message: 'pure code: no timers' },
];
const impurePatterns = [{ group: ['@nats-io/*'], message: 'pure code: NATS belongs in adapters' }];
const impureSyntax = [
  {
    selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
    message: 'pure code: take `now` as data',
  },
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: 'pure code: take `now` as data',
  },
  {
    selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
    message: 'pure code: randomness is passed in',
  },
  {
    selector: "CallExpression[callee.property.name='randomUUID']",
    message: 'pure code: ids are passed in',
  },
  { selector: "CallExpression[callee.name='setTimeout']", message: 'pure code: no timers' },
  { selector: "CallExpression[callee.name='setInterval']", message: 'pure code: no timers' },
  {
    selector: "MemberExpression[object.name='performance'][property.name='now']",
    message: 'pure code: no clock',
  },
  { selector: "MemberExpression[object.name='process']", message: 'pure code: no process state' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Pure: the vocabulary, the machines, the folds and the scheduler's policy. The adapters
    // (*.jetstream.ts, *.service.ts, projection stores, main.ts) are the only impure files.
    files: [
      'src/events/**/*.ts',
      'src/actors/**/*.ts',
      'src/projections/**/*.ts',
      'src/policy/**/*.ts',
      'src/scheduler/rules.ts',
      'src/scheduler/watchdog.ts',
      'src/scheduler/work-messages.ts',
      'src/scheduler/placement-round.ts',
      'src/scheduler/round-tasks.ts',
      'src/scheduler/entity-view.ts',
      'src/api/read-model.ts',
      'src/api/views.ts',
      'src/api/plans.ts',
      'src/api/explain.ts',
      'src/api/protocol.ts',
    ],
    ignores: [
      '**/*.jetstream.ts',
      '**/*.service.ts',
      '**/main.ts',
      'src/projections/projection-store.*.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', { paths: impureModules, patterns: impurePatterns }],
      'no-restricted-syntax': ['error', ...impureSyntax],
    },
  },
);
