/**
 * Memory sizes as people write them (`512M`, `2G`, `1.5GiB`, `800` = MiB) to whole MiB. Pure.
 * Returns undefined for anything else, so callers can name the offending field.
 */
export function parseMemoryMb(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const factor = { '': 1, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[unit];
  if (factor === undefined) return undefined;
  const mb = Math.ceil(value * factor);
  return mb > 0 && Number.isSafeInteger(mb) ? mb : undefined;
}
