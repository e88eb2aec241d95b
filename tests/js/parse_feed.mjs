// Parse iCalendar files with ical.js (Thunderbird's parser) and print what it decoded.
//
//   node tests/js/parse_feed.mjs FILE...
//
// Prints one JSON array, one object per file: {file, ok, error, calname, timezones,
// events: [{uid, summary, description, categories, start, end, sequence, alarms}],
// replacement_chars}. ical.js decodes UTF-8 before unfolding, like Thunderbird, so a fold
// inside a multi-byte character shows up as U+FFFD in the decoded text.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function parseOne(file) {
  const text = readFileSync(file, "utf8");
  const result = { file, ok: false, error: null, replacement_chars: 0, events: [] };
  try {
    const root = new ICAL.Component(ICAL.parse(text));
    result.calname = root.getFirstPropertyValue("x-wr-calname");
    result.timezones = root.getAllSubcomponents("vtimezone")
      .map((tz) => tz.getFirstPropertyValue("tzid"));
    for (const vevent of root.getAllSubcomponents("vevent")) {
      const event = new ICAL.Event(vevent);
      const values = [event.summary, event.description, event.uid];
      const categories = vevent.getAllProperties("categories").flatMap((p) => p.getValues());
      for (const value of [...values, ...categories]) {
        if (typeof value === "string") {
          result.replacement_chars += (value.match(/\uFFFD/g) || []).length;
        }
      }
      result.events.push({
        uid: event.uid,
        summary: event.summary,
        description: event.description,
        categories,
        start: event.startDate.toString(),
        start_is_date: event.startDate.isDate,
        end: event.endDate.toString(),
        sequence: event.sequence,
        alarms: vevent.getAllSubcomponents("valarm").length,
      });
    }
    result.ok = true;
  } catch (error) {
    result.error = String(error);
  }
  return result;
}

console.log(JSON.stringify(process.argv.slice(2).map(parseOne)));
