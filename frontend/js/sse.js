// Server-sent events over fetch: a parser fed with text chunks as they arrive, and the frames
// it yields ({id, event, data}). Comments (keep-alives) are skipped; a frame ends at a blank
// line, whatever the line endings.

export class SseParser {
  constructor() {
    this.buffer = "";
    this.frame = { id: null, event: "message", data: [] };
  }

  /** Feeds a chunk of text; returns the frames it completed. */
  push(chunk) {
    this.buffer += chunk;
    const frames = [];
    let newline;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (this.buffer[newline] === "\r" && newline + 1 === this.buffer.length) break;
      this.buffer = this.buffer.slice(newline + width);
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  line(line) {
    if (line === "") {
      const { id, event, data } = this.frame;
      this.frame = { id: null, event: "message", data: [] };
      if (data.length === 0) return null;
      return { id, event, data: data.join("\n") };
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.frame.data.push(value);
    else if (field === "event") this.frame.event = value;
    else if (field === "id") this.frame.id = value;
    return null;
  }
}

/** A frame's event as the server sent it: `{seq, type, ...fields}`; null when unreadable. */
export function decodeFrame(frame) {
  let data;
  try {
    data = JSON.parse(frame.data);
  } catch {
    return null;
  }
  if (data === null || typeof data !== "object") return null;
  const seq = frame.id !== null && /^\d+$/.test(frame.id) ? Number(frame.id) : null;
  return { ...data, type: data.type || frame.event, seq };
}
