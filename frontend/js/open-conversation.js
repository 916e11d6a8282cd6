// One opening of a conversation: its session id and what the console holds about it while it
// is open (the branch drawn, the live turn and its event follower, the uploads). Leaving it
// closes it: its reads are aborted, its follower stops, and an answer that still arrives is
// recognised as stale and draws nothing. Pure: no page access, so it is unit-tested in Node.

export class OpenConversation {
  constructor(id) {
    /** The conversation's session id, named on every call about it. */
    this.id = id;
    /** The active branch as drawn: `[{message, sibling_ids, sibling_index}]`. */
    this.branch = [];
    /** Whether the branch is drawn (nothing is sent before). */
    this.ready = false;
    /** Whether a turn runs (this tab's or another's). */
    this.running = false;
    /** The turn drawn live: `{state, view}` (the view has `discard()`), or null. */
    this.live = null;
    /** The EventFollower of the live turn, or null. */
    this.follower = null;
    /** The files in the conversation's `upload/` folder, as the server last listed them. */
    this.uploads = [];
    this.aborter = new AbortController();
    this.latest = new Map();
  }

  /** Aborts the conversation's reads when it is left. */
  get signal() {
    return this.aborter.signal;
  }

  get closed() {
    return this.aborter.signal.aborted;
  }

  /**
   * Starts a request of `kind` ("messages", "results", ...): the returned function tells, when
   * its answer arrives, whether the answer may still draw: the conversation is still open and
   * no newer request of the same kind has started (an older answer arriving late must not undo
   * a newer one).
   */
  ticket(kind) {
    const number = (this.latest.get(kind) || 0) + 1;
    this.latest.set(kind, number);
    return () => !this.closed && this.latest.get(kind) === number;
  }

  /** Leaves the conversation: its reads are aborted and its follower stops. */
  close() {
    this.aborter.abort();
    if (this.follower) this.follower.close();
    if (this.live) this.live.view.discard();
    this.follower = null;
    this.live = null;
    this.running = false;
    this.ready = false;
  }
}
