// Small pure helpers for what the console shows: relative times, titles, sizes, durations and
// readable summaries of tool arguments.

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 d ago", else the date. */
export function relativeTime(then, now = Date.now()) {
  const seconds = Math.round((now - then) / 1000);
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} d ago`;
  return new Date(then).toISOString().slice(0, 10);
}

/** A conversation title from its first message: one line, at most 60 characters. */
export function titleFrom(message) {
  const line = String(message || "").replace(/\s+/g, " ").trim();
  if (!line) return "New conversation";
  return line.length > 60 ? `${line.slice(0, 57).trimEnd()}…` : line;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const KEYS = ["command", "code", "file_path", "local_dir", "url", "query", "queries", "description", "content"];

/** One readable line for a tool call's arguments: the argument that says the most, shortened. */
export function argumentSummary(input) {
  let args = input;
  if (typeof input === "string") {
    try {
      args = JSON.parse(input);
    } catch {
      return shorten(input);
    }
  }
  if (!args || typeof args !== "object") return "";
  for (const key of KEYS) {
    const value = args[key];
    if (typeof value === "string" && value.trim()) return shorten(value);
    if (Array.isArray(value) && value.length) return shorten(value.join(", "));
  }
  const first = Object.values(args).find((v) => typeof v === "string" && v.trim());
  return first ? shorten(first) : "";
}

function shorten(text, max = 120) {
  const line = String(text).replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The tool name without the manifest prefix. */
export function toolName(name) {
  return String(name || "").replace(/^mshtools-/, "");
}
