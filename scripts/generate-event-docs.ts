import { writeFile } from 'node:fs/promises';
import { renderEventDocs } from '../src/events/event-docs.js';

await writeFile(new URL('../docs/events.md', import.meta.url), renderEventDocs());
console.log('wrote docs/events.md');
