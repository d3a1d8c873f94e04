/**
 * `key search` results as Apptainer lays them out (Go tabwriter, 2 spaces between columns),
 * with dates in the local time zone as Go prints them.
 *
 * @module
 */

import type { IndexDate, IndexEntry } from "../../core/keyserver/mod.ts";
import { displayText } from "../output.ts";
import { goUtcTime } from "./go_format.ts";
import { tabwrite } from "./tabwriter.ts";

/**
 * The table: `KEY ID  BITS  NAME/EMAIL`, or with `long` `FINGERPRINT  ALGORITHM  BITS
 * CREATION DATE  EXPIRATION DATE  STATUS  NAME/EMAIL`. The first user ID shares the key's row,
 * the others get rows of their own; an empty line precedes every key after the first (so each
 * aligns on its own).
 */
export function indexTable(entries: IndexEntry[], long: boolean): string {
  const rows = [
    long
      ? "FINGERPRINT\tALGORITHM\tBITS\tCREATION DATE\tEXPIRATION DATE\tSTATUS\tNAME/EMAIL"
      : "KEY ID\tBITS\tNAME/EMAIL",
  ];
  entries.forEach((entry, i) => {
    if (i > 0) rows.push("");
    const lead = long
      ? [
        cell(entry.key),
        entry.algorithm ?? "",
        cell(entry.bits),
        indexDate(entry.created ?? ""),
        indexDate(entry.expires ?? ""),
        entry.status ?? "",
      ]
      : [cell(entry.key), cell(entry.bits)];
    const [first, ...others] = entry.userIds.length > 0 ? entry.userIds : [""];
    rows.push([...lead, cell(first)].join("\t"));
    for (const userId of others) rows.push([...lead.map(() => ""), cell(userId)].join("\t"));
  });
  return tabwrite(`${rows.join("\n")}\n`, 2);
}

/** Untrusted text from the keyserver, safe in a table cell (no tabs or control characters). */
function cell(text: string): string {
  return displayText(text);
}

/** A date column: Unix seconds as Go prints a local time; other fields as sent. */
function indexDate(date: IndexDate): string {
  return typeof date === "number" ? goLocalTime(date) : cell(date);
}

const pad2 = (n: number) => String(n).padStart(2, "0");

let zoneFormats: Intl.DateTimeFormat[] | undefined;

/** Formats that name the local zone: English locales know different abbreviations. */
function zoneNames(): Intl.DateTimeFormat[] {
  zoneFormats ??= ["en-US", "en-GB", "en-IN", "en-AU", "en-ZA"].map((locale) =>
    new Intl.DateTimeFormat(locale, { timeZoneName: "short" })
  );
  return zoneFormats;
}

/**
 * A Unix time as Go's `time.Unix(s, 0).String()` prints it in the local time zone:
 * `2022-02-23 15:12:19 -0800 PST`, `2022-02-23 23:12:19 +0000 UTC`. The zone abbreviation is
 * one that `Intl` knows in an English locale (PST, CET, BST, IST, AEST…); where it knows
 * none, the numeric form tzdata uses for such zones (`+09`) is shown.
 */
export function goLocalTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return String(seconds);
  const east = -date.getTimezoneOffset();
  const sign = east < 0 ? "-" : "+";
  const abs = Math.abs(east);
  const offset = `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  const named = zoneNames().map((format) =>
    format.formatToParts(date).find((part) => part.type === "timeZoneName")?.value ?? ""
  ).find((name) => /^[A-Z]{3,5}$/.test(name));
  const zone = named ??
    (east === 0
      ? "UTC"
      : `${sign}${pad2(Math.floor(abs / 60))}${abs % 60 === 0 ? "" : pad2(abs % 60)}`);
  return `${goUtcTime(seconds + east * 60).replace(/ \+0000 UTC$/, "")} ${offset} ${zone}`;
}
