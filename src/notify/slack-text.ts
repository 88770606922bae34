/**
 * A webhook body that a Slack incoming webhook renders as a message and any other receiver
 * reads as JSON. Slack shows the `text` field and ignores the others, so Drover's own fields
 * (workflow, run, event, alert …) travel beside it unchanged.
 */
export function withSlackText<T extends object>(body: T, text: string): T & { text: string } {
  return { ...body, text };
}

/** Slack's mrkdwn needs `&`, `<` and `>` escaped; everything else may pass as is. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
