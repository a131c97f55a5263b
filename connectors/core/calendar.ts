// Dates and times in their ColumnValue forms (days since 1970-01-01, microseconds) to the ISO text targets read.
// Exact integer arithmetic on the proleptic Gregorian calendar, as MySQL, SQL Server and Debezium use: no Date
// object, whose range and millisecond precision fall short.

export const MICROS_PER_DAY = 86_400_000_000n;

/** Year, month and day of a day count since 1970-01-01 (Howard Hinnant's civil_from_days). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** `YYYY-MM-DD` for years 0 to 9999; callers check their target's range first. */
export function isoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** The day and the time of day of an instant, by floor division: a negative instant falls on the day before. */
export function splitMicros(micros: bigint): { days: number; microsOfDay: bigint } {
  let days = micros / MICROS_PER_DAY;
  let rest = micros - days * MICROS_PER_DAY;
  if (rest < 0n) {
    days -= 1n;
    rest += MICROS_PER_DAY;
  }
  return { days: Number(days), microsOfDay: rest };
}

/** `HH:MM:SS.ffffff` of a non-negative microsecond count; hours may pass 24 (MySQL TIME). */
export function clockText(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  return `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}.${pad(micros % 1_000_000n, 6)}`;
}

/** `YYYY-MM-DD<separator>HH:MM:SS.ffffff` of microseconds since 1970-01-01T00:00:00. */
export function isoDateTime(micros: bigint, separator: ' ' | 'T'): string {
  const { days, microsOfDay } = splitMicros(micros);
  return `${isoDate(days)}${separator}${clockText(microsOfDay)}`;
}

function pad(value: number | bigint, width: number): string {
  return value.toString().padStart(width, '0');
}

/** Days since 1970-01-01 of a proleptic Gregorian date with an astronomical year (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** `count` decimal digits at `start` of `text`, or -1: the sources read dates and times at fixed places with it. */
export function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1; // NaN past the end fails too
    value = value * 10 + d;
  }
  return value;
}
