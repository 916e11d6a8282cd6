// Following a session's events: a turn's stream as it starts, and after a drop (network gone,
// laptop asleep, server restarted) the same events resumed from the last one seen, with a
// backoff, until the turn's `stop`. Nothing is missed: the server replays every event after
// `after`; nothing is doubled: events at or below the last sequence number are dropped.

import { openStream } from "./api.js";
import { SseParser, decodeFrame } from "./sse.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];

export class EventFollower {
  /**
   * @param {object} options
   * @param {string} options.session the session (conversation) whose events these are
   * @param {number} options.after the last event already seen
   * @param {(event) => void} options.onEvent every event, in order, once
   * @param {(state: "live"|"reconnecting"|"ended") => void} options.onState
   */
  constructor({ session, after, onEvent, onState }) {
    this.session = session;
    this.lastSeq = after ?? 0;
    this.onEvent = onEvent;
    this.onState = onState;
    this.controller = null;
    this.closed = false;
    this.attempt = 0;
    this.wake = null;
    this.onOnline = () => this.retryNow();
    window.addEventListener("online", this.onOnline);
    document.addEventListener("visibilitychange", this.onOnline);
  }

  /** Reads a started turn's stream (the response of POST /api/chat), then follows. */
  async startWith(responsePromise) {
    let response;
    try {
      response = await responsePromise;
    } catch (error) {
      // Refused, or never reached the server: whether a turn started is not known here.
      this.close();
      throw error;
    }
    if (this.closed) {
      // Closed while the request was on its way (the conversation was left).
      response.body?.cancel().catch(() => {});
      return;
    }
    const after = response.headers.get("x-okc-after-seq");
    if (after !== null && /^\d+$/.test(after)) this.lastSeq = Math.max(this.lastSeq, Number(after));
    this.onState("live");
    try {
      if (await this.read(response)) return;
    } catch {
      // The stream broke: follow from the last event seen.
    }
    if (this.closed) return;
    this.onState("reconnecting");
    await this.follow();
  }

  /** Follows the session's events after `lastSeq` until the turn's `stop`. */
  async follow() {
    while (!this.closed) {
      try {
        this.controller = new AbortController();
        const response = await openStream(`/api/session/events?after=${this.lastSeq}`, {
          session: this.session,
          signal: this.controller.signal,
        });
        this.onState("live");
        this.attempt = 0;
        if (await this.read(response)) return;
      } catch (error) {
        if (this.closed) return;
        if (error && error.status && error.status < 500 && error.status !== 0) {
          this.close();
          throw error;
        }
      }
      if (this.closed) return;
      this.onState("reconnecting");
      await this.pause(BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]);
      this.attempt += 1;
    }
  }

  /** Reads frames until the stream ends; true when the turn's `stop` arrived. */
  async read(response) {
    const reader = response.body.getReader();
    this.reader = reader;
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.closed) return false;
      for (const frame of parser.push(decoder.decode(value, { stream: true }))) {
        const event = decodeFrame(frame);
        if (!event) continue;
        if (event.seq !== null) {
          if (event.seq <= this.lastSeq) continue;
          this.lastSeq = event.seq;
        }
        event.receivedAt = Date.now();
        this.onEvent(event);
        if (event.type === "stop") {
          this.close();
          this.onState("ended");
          return true;
        }
      }
    }
  }

  pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  retryNow() {
    if (document.visibilityState === "hidden") return;
    if (this.wake) this.wake();
  }

  close() {
    this.closed = true;
    window.removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onOnline);
    if (this.controller) this.controller.abort();
    if (this.reader) this.reader.cancel().catch(() => {});
    if (this.wake) this.wake();
  }
}
