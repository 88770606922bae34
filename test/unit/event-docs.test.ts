import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderEventDocs } from '../../src/events/event-docs.js';
import { eventCatalog } from '../../src/events/index.js';

describe('docs/events.md', () => {
  it('is generated from the current schemas (run `npm run gen:docs` when this fails)', async () => {
    const onDisk = await readFile(new URL('../../docs/events.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderEventDocs());
  });

  it('lists every event type of the catalog with its current version', () => {
    const doc = renderEventDocs();
    for (const entry of eventCatalog.values())
      expect(doc).toContain(`| \`${entry.type}\` | ${entry.v} |`);
  });
});
