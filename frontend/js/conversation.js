// The open conversation: what to fetch and when, and what is drawn with the answers. It owns
// the open conversation's state (an OpenConversation: its session id, branch, live turn and
// event follower) and hands data to the views (chat, results, uploads), which only draw.
// Every call names the conversation's session id. An answer that arrives after the user has
// opened another conversation draws nothing: each request checks, before drawing, that the
// opening it was made for is still the open one (and that no newer request of its kind has
// started); leaving a conversation aborts its reads and stops following its turn.

import { api, ApiError, fileUrl, openStream, uploadFiles } from "./api.js";
import { ChatView } from "./chat.js";
import { confirmDialog, notice } from "./dom.js";
import { OpenConversation } from "./open-conversation.js";
import { previewKind, ResultsView } from "./results.js";
import { EventFollower } from "./stream.js";
import { applyEvent, newTurn } from "./turn.js";
import { DEFAULT_LIMITS, readUploads, refusal, UploadsView } from "./uploads.js";

const STORED_CONVERSATION = "okcvm.conversation";

/** The conversation the page was opened on: the address's `#c=`, else the last one open. */
export function requestedConversation() {
  return conversationInAddress() || localStorage.getItem(STORED_CONVERSATION);
}

/** The conversation the address names (`#c=<id>`), or null. */
export function conversationInAddress() {
  return new URLSearchParams(location.hash.slice(1)).get("c");
}

export class ConversationController {
  /**
   * @param {object} parts
   * @param {import("./conversations.js").Conversations} parts.conversations the sidebar's list
   * @param {import("./settings.js").Settings} parts.settings
   * @param {(id: string) => void} parts.onOpened after a conversation is opened
   */
  constructor({ conversations, settings, onOpened }) {
    this.conversations = conversations;
    this.settings = settings;
    this.onOpened = onOpened;
    /** @type {OpenConversation | null} */
    this.opened = null;
    // The server's upload limits, as it last said them.
    this.limits = DEFAULT_LIMITS;
    this.chat = new ChatView({
      onSend: (text) => this.submit(text),
      onStop: () => this.stop(),
      onEdit: (messageId, text) => this.send({ message: text, edit_of: messageId }),
      onRegenerate: () => this.regenerate(),
      onSwitchBranch: (messageId) => this.switchBranch(messageId),
    });
    this.results = new ResultsView({
      onTakeSnapshot: () => this.takeSnapshot(),
      onRestore: (snapshot) => this.restore(snapshot),
      onFolder: (folder) => this.showFolder(folder),
      onPreview: (entry) => this.previewFile(entry),
    });
    this.uploads = new UploadsView({ onFiles: (files) => this.upload(files) });
  }

  /** The id of the open conversation, or null. */
  get current() {
    return this.opened ? this.opened.id : null;
  }

  // ---- Opening ------------------------------------------------------------------------------

  /** Opens conversation `id`: draws its branch (following its running turn), then its results. */
  async openConversation(id) {
    if (this.opened) this.opened.close();
    const conversation = new OpenConversation(id);
    this.opened = conversation;
    this.chat.running(false);
    this.chat.connection("ended");
    localStorage.setItem(STORED_CONVERSATION, id);
    if (conversationInAddress() !== id) history.replaceState(null, "", `#c=${encodeURIComponent(id)}`);
    this.conversations.setCurrent(id);
    this.chat.title(this.conversations.get(id)?.title || "New conversation");
    this.onOpened(id);
    notice("");
    // Nothing is sent until the conversation is drawn.
    this.chat.ready(false);
    await this.loadBranch(conversation);
    if (conversation.closed) return;
    conversation.ready = true;
    this.chat.ready(true);
    await this.refreshResults(conversation);
  }

  /** Draws the active branch from the server; follows the running turn when there is one. */
  async loadBranch(conversation) {
    const fresh = conversation.ticket("messages");
    let branch;
    try {
      branch = await api("/api/session/messages", { session: conversation.id, signal: conversation.signal });
    } catch (error) {
      if (fresh()) notice(`The conversation could not be loaded: ${error.message}`);
      return;
    }
    if (!fresh() || conversation.live) return;
    const running = branch.running_turn;
    // A running turn is drawn from its events (replayed from its start), not its messages so far.
    conversation.branch = running
      ? branch.messages.filter((entry) => entry.message.role === "user" || entry.message.turn_id !== running)
      : branch.messages;
    this.chat.branch(conversation.id, conversation.branch);
    if (running) this.followTurn(conversation, branch.running_after_seq ?? branch.last_seq);
  }

  /** Redraws the results panel and the uploads from the conversation's boot reply. */
  async refreshResults(conversation) {
    const fresh = conversation.ticket("results");
    try {
      const boot = await api("/api/session/boot", { session: conversation.id, signal: conversation.signal });
      if (!fresh()) return;
      this.showUploads(conversation, boot);
      this.results.update(conversation.id, boot, conversation.branch);
      if (this.results.filesShown) this.showFolder(this.results.folder);
    } catch (error) {
      if (fresh()) notice(`The results could not be loaded: ${error.message}`);
    }
  }

  // ---- Turns --------------------------------------------------------------------------------

  setRunning(conversation, running) {
    conversation.running = running;
    this.chat.running(running);
  }

  /** A message from the composer: false when it cannot be sent now (it stays in the composer). */
  submit(text) {
    const conversation = this.opened;
    if (!conversation || conversation.running || !conversation.ready) return false;
    this.send({ message: text });
    return true;
  }

  /** Starts a turn: `{message, edit_of?, replace_last?}`. */
  async send(request) {
    const conversation = this.opened;
    if (!conversation || conversation.running) return;
    if (!this.settings.chatConfigured()) {
      await this.settings.load().catch(() => {});
      if (conversation.closed) return;
      if (!this.settings.chatConfigured()) {
        notice("No chat model is configured yet: set its model and base URL in Settings.");
        this.settings.open();
        return;
      }
    }
    notice("");
    let branch = conversation.branch;
    const first = !branch.some((e) => e.message.role === "user") || (request.edit_of && branch[0]?.message.id === request.edit_of);
    // The user's message shows at once, in place of what it replaces.
    if (request.edit_of) {
      const index = branch.findIndex((e) => e.message.id === request.edit_of);
      branch = branch.slice(0, Math.max(index, 0));
    } else if (request.replace_last) {
      const index = branch.map((e) => e.message.role).lastIndexOf("user");
      branch = branch.slice(0, Math.max(index, 0));
    }
    conversation.branch = [...branch, { message: { id: "pending", role: "user", content: request.message }, sibling_ids: [], sibling_index: 0 }];
    this.chat.branch(conversation.id, conversation.branch);
    const response = openStream("/api/chat", { method: "POST", session: conversation.id, body: { ...request, stream: true } });
    this.startLiveTurn(conversation, 0);
    try {
      await conversation.follower.startWith(response);
    } catch (error) {
      this.turnRefused(conversation, error);
      return;
    }
    const id = conversation.id;
    if (first) {
      this.conversations.touch(id, request.message).then(() => {
        if (!conversation.closed) this.chat.title(this.conversations.get(id)?.title || "");
      });
    } else {
      this.conversations.touch(id);
    }
  }

  regenerate() {
    const conversation = this.opened;
    if (!conversation) return;
    const last = [...conversation.branch].reverse().find((e) => e.message.role === "user");
    if (last) this.send({ message: last.message.content, replace_last: true });
  }

  turnRefused(conversation, error) {
    if (conversation.closed) return;
    this.setRunning(conversation, false);
    conversation.live = null;
    this.chat.connection("ended");
    if (error instanceof ApiError && error.code === "turn_in_progress") {
      notice("A turn is already running in this conversation (perhaps in another tab): it is shown when it ends.");
    } else {
      notice(`The message was not sent: ${error.message}`);
    }
    this.loadBranch(conversation);
  }

  /** Follows a turn already running (another tab started it, or this page was reloaded). */
  followTurn(conversation, after) {
    this.startLiveTurn(conversation, after);
    conversation.follower.follow().catch((error) => {
      if (!conversation.closed) notice(`Following the turn failed: ${error.message}`);
    });
  }

  startLiveTurn(conversation, after) {
    if (conversation.follower) conversation.follower.close();
    this.setRunning(conversation, true);
    const live = { state: newTurn(), view: this.chat.liveTurn(conversation.id) };
    conversation.live = live;
    conversation.follower = new EventFollower({
      session: conversation.id,
      after,
      onEvent: (event) => {
        if (conversation.live !== live) return;
        live.state = applyEvent(live.state, event);
        live.view.update(live.state);
        if (event.type === "stop") this.finishTurn(conversation, live);
      },
      onState: (state) => {
        if (!conversation.closed) this.chat.connection(state);
      },
    });
    live.view.draw(live.state);
  }

  async finishTurn(conversation, live) {
    if (conversation.live !== live) return;
    live.view.draw(live.state);
    conversation.live = null;
    this.setRunning(conversation, false);
    this.chat.connection("ended");
    const failed = live.state.error;
    await this.loadBranch(conversation);
    if (conversation.closed) return;
    // The branch has no trace of a failed turn's error: keep it in view.
    if (failed) this.chat.turnError(failed);
    await this.refreshResults(conversation);
    if (conversation.closed) return;
    const payload = live.state.payload;
    if (payload?.web_preview?.url) this.results.selectByName("preview");
    else if ((payload?.ppt_slides || []).length) this.results.selectByName("slides");
  }

  async stop() {
    const conversation = this.opened;
    if (!conversation) return;
    try {
      await api("/api/session/stop", { method: "POST", session: conversation.id });
    } catch (error) {
      if (!conversation.closed) notice(`Stopping failed: ${error.message}`);
    }
  }

  async switchBranch(messageId) {
    const conversation = this.opened;
    if (!conversation || conversation.running || !messageId) return;
    try {
      const branch = await api("/api/session/history/switch", { method: "POST", session: conversation.id, body: { message_id: messageId } });
      if (conversation.closed) return;
      conversation.branch = branch.messages;
      this.chat.branch(conversation.id, conversation.branch);
      await this.refreshResults(conversation);
    } catch (error) {
      if (!conversation.closed) notice(`Switching versions failed: ${error.message}`);
    }
  }

  // ---- Uploads ------------------------------------------------------------------------------

  showUploads(conversation, reply) {
    const { limits, files } = readUploads(reply, this.limits);
    this.limits = limits;
    conversation.uploads = files;
    this.uploads.draw(limits, files);
  }

  /** Uploads a batch to the open conversation (it goes on if the conversation is left). */
  async upload(files) {
    const conversation = this.opened;
    if (!conversation || !files.length) return;
    const batch = this.uploads.batch(files.length);
    const refused = refusal(this.limits, conversation.uploads.length, files);
    if (refused) {
      batch.fail(refused);
      return;
    }
    let reply;
    try {
      reply = await uploadFiles(conversation.id, files, batch.progress);
    } catch (error) {
      if (conversation.closed) return;
      batch.fail(error.status === 0 ? "The upload failed: the server cannot be reached." : error.detail || `The upload failed (${error.status}).`);
      return;
    }
    if (conversation.closed) return;
    batch.done();
    this.showUploads(conversation, reply);
    this.refreshResults(conversation);
  }

  // ---- Results ------------------------------------------------------------------------------

  async takeSnapshot() {
    const conversation = this.opened;
    if (!conversation) return;
    try {
      const state = await api("/api/session/workspace/snapshots", { method: "POST", session: conversation.id, body: { label: "Taken from the console" } });
      if (!conversation.closed) this.results.snapshots(state);
    } catch (error) {
      if (!conversation.closed) notice(`The snapshot failed: ${error.message}`);
    }
  }

  async restore(snapshot) {
    const conversation = this.opened;
    if (!conversation) return;
    const ok = await confirmDialog(
      "Restore this snapshot?",
      `The workspace files go back to "${snapshot.label || snapshot.id}". Files changed since then are replaced.`,
      "Restore",
    );
    if (!ok || conversation.closed) return;
    try {
      await api("/api/session/workspace/restore", { method: "POST", session: conversation.id, body: { snapshot_id: snapshot.id } });
      if (conversation.closed) return;
      notice("");
      this.refreshResults(conversation);
    } catch (error) {
      if (!conversation.closed) notice(`Restoring failed: ${error.message}`);
    }
  }

  /** Lists a workspace folder in the Files tab. */
  async showFolder(folder) {
    const conversation = this.opened;
    if (!conversation) return;
    const fresh = conversation.ticket("files");
    let listing;
    try {
      listing = await api(`/api/session/workspace/files?path=${encodeURIComponent(folder)}`, { session: conversation.id, signal: conversation.signal });
    } catch (error) {
      if (fresh()) this.results.filesError(error.message);
      return;
    }
    if (fresh()) this.results.files(conversation.id, folder, listing);
  }

  /** Previews a file of the listing (a text file's text is fetched first). */
  async previewFile(entry) {
    const conversation = this.opened;
    if (!conversation) return;
    const fresh = conversation.ticket("preview");
    const url = fileUrl(conversation.id, entry.path);
    let text = null;
    if (previewKind(entry) === "text") {
      try {
        const response = await fetch(url, { credentials: "same-origin", signal: conversation.signal });
        text = response.ok ? await response.text() : `(${response.status})`;
      } catch {
        // aborted (the conversation was left) or unreachable: nothing to show
        return;
      }
    }
    if (fresh()) this.results.filePreview(entry, url, text);
  }
}
