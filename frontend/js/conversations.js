// The sidebar: the tenant's conversations (each its own session and workspace), newest first,
// with new, rename, delete (after confirmation) and search by title.

import { api } from "./api.js";
import { $, confirmDialog, h, notice } from "./dom.js";
import { relativeTime, titleFrom } from "./format.js";

export class Conversations {
  /** @param {{onOpen: (id: string) => void, onDeleted: (id: string) => void}} hooks */
  constructor({ onOpen, onDeleted }) {
    this.items = [];
    this.current = null;
    this.filter = "";
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.list = $("#conversation-list");
    $("#search").addEventListener("input", (event) => {
      this.filter = event.target.value.trim().toLowerCase();
      this.render();
    });
    $("#new-conversation").addEventListener("click", () => this.create().then((c) => this.onOpen(c.id)));
    setInterval(() => this.render(), 60_000);
  }

  async load() {
    const body = await api("/api/conversations");
    this.items = body.conversations || [];
    this.sort();
    this.render();
  }

  get(id) {
    return this.items.find((c) => c.id === id) || null;
  }

  sort() {
    const time = (c) => (typeof c.updatedAt === "number" ? c.updatedAt : Date.parse(c.updatedAt) || 0);
    this.items.sort((a, b) => time(b) - time(a));
  }

  async create() {
    const now = Date.now();
    const id = `c-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const body = await api("/api/conversations", {
      method: "POST",
      body: { id, title: "New conversation", createdAt: now, updatedAt: now },
    });
    this.items.unshift(body.conversation);
    this.render();
    return body.conversation;
  }

  async save(conversation) {
    const body = await api(`/api/conversations/${encodeURIComponent(conversation.id)}`, {
      method: "PUT",
      body: conversation,
    });
    const index = this.items.findIndex((c) => c.id === conversation.id);
    if (index >= 0) this.items[index] = body.conversation;
    else this.items.unshift(body.conversation);
    this.sort();
    this.render();
    return body.conversation;
  }

  /** After a message is sent: the title from the first message, and the time. */
  async touch(id, firstMessage) {
    const conversation = this.get(id);
    if (!conversation) return;
    const update = { ...conversation, updatedAt: Date.now() };
    if (firstMessage && (!conversation.title || conversation.title === "New conversation")) {
      update.title = titleFrom(firstMessage);
    }
    await this.save(update).catch(() => {});
  }

  async rename(conversation, title) {
    const clean = title.trim();
    if (!clean || clean === conversation.title) return;
    await this.save({ ...conversation, title: clean });
  }

  async remove(conversation) {
    const ok = await confirmDialog(
      "Delete this conversation?",
      `"${conversation.title}" and its workspace files, uploads, snapshots and deployed sites will be deleted. This cannot be undone.`,
    );
    if (!ok) return;
    try {
      await api(`/api/conversations/${encodeURIComponent(conversation.id)}`, { method: "DELETE" });
    } catch (error) {
      if (error.code !== "conversation_not_found") {
        notice(`Deleting failed: ${error.message}`);
        return;
      }
    }
    this.items = this.items.filter((c) => c.id !== conversation.id);
    this.render();
    this.onDeleted(conversation.id);
  }

  setCurrent(id) {
    this.current = id;
    this.render();
  }

  render() {
    const shown = this.items.filter((c) => !this.filter || String(c.title || "").toLowerCase().includes(this.filter));
    const rows = shown.map((conversation) => {
      const current = conversation.id === this.current;
      const time = typeof conversation.updatedAt === "number" ? conversation.updatedAt : Date.parse(conversation.updatedAt);
      const open = h(
        "button",
        { type: "button", class: "open", onclick: () => this.onOpen(conversation.id), "aria-current": current ? "page" : null },
        h("span", {}, conversation.title || "New conversation"),
        h("small", {}, relativeTime(time)),
      );
      const rename = h("button", {
        type: "button",
        class: "link",
        "aria-label": `Rename ${conversation.title}`,
        onclick: () => this.startRename(li, conversation),
      }, "Rename");
      const remove = h("button", {
        type: "button",
        class: "link",
        "aria-label": `Delete ${conversation.title}`,
        onclick: () => this.remove(conversation),
      }, "Delete");
      const li = h("li", { "aria-current": current ? "true" : null, dataset: { id: conversation.id } }, open, h("span", { class: "actions" }, rename, remove));
      return li;
    });
    if (rows.length === 0) {
      rows.push(h("li", { class: "hint" }, this.filter ? "No conversation matches." : "No conversations yet."));
    }
    this.list.replaceChildren(...rows);
  }

  startRename(li, conversation) {
    const input = h("input", { type: "text", value: conversation.title || "", "aria-label": "New title" });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      if (save) await this.rename(conversation, input.value).catch((e) => notice(`Renaming failed: ${e.message}`));
      this.render();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true), { once: true });
    li.replaceChildren(input);
    input.focus();
    input.select();
  }
}
