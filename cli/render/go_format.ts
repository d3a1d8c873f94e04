/**
 * Go's renderings of times and sizes, as `siftool` prints them.
 *
 * @module
 */

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/**
 * A Unix time as Go prints `time.Unix(s, 0).UTC()`: `2020-06-30 00:01:56 +0000 UTC`.
 * Works for any safe integer (proleptic Gregorian calendar, astronomical years).
 */
export function goUtcTime(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const secondOfDay = seconds - days * 86400;
  const [year, month, day] = civilFromDays(days);
  const yearText = year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
  const hh = Math.floor(secondOfDay / 3600);
  const mm = Math.floor((secondOfDay % 3600) / 60);
  const ss = secondOfDay % 60;
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)} ${pad(hh, 2)}:${pad(mm, 2)}:${
    pad(ss, 2)
  } +0000 UTC`;
}

/** Year, month, day of a count of days since 1970-01-01 (H. Hinnant's algorithm). */
function civilFromDays(daysSinceEpoch: number): [number, number, number] {
  const z = daysSinceEpoch + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) -
      Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra -
    (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return [year, month, day];
}

/** A size as siftool's `readableSize`: `512 B`, `27 KiB`, `4 GiB` (rounded half away from 0). */
export function readableSize(size: number): string {
  if (-1024 < size && size < 1024) return `${size} B`;
  let divisor = 1024;
  let exponent = 0;
  for (let n = Math.trunc(size / 1024); n <= -1024 || n >= 1024; n = Math.trunc(n / 1024)) {
    divisor *= 1024;
    exponent++;
  }
  const value = size / divisor;
  const rounded = Math.sign(value) * Math.round(Math.abs(value));
  return `${rounded} ${"KMGTPE"[exponent]}iB`;
}
