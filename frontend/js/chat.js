// The chat column, drawn from what the conversation controller hands it: the header, the
// active branch (messages, tool cards, the `< 2/3 >` version navigator), a turn as it streams,
// and the composer. It fetches nothing and decides nothing: what the user asks for (send,
// stop, edit, regenerate, another version) goes to the controller's hooks.

import { fileUrl } from "./api.js";
import { $, h } from "./dom.js";
import { argumentSummary, duration, toolName } from "./format.js";
import { copyText, renderMarkdown } from "./markdown.js";

export class ChatView {
  /**
   * @param {object} hooks
   * @param {(text: string) => boolean} hooks.onSend a message from the composer; false when it cannot be sent now
   * @param {() => void} hooks.onStop
   * @param {(messageId: string, text: string) => void} hooks.onEdit
   * @param {() => void} hooks.onRegenerate
   * @param {(messageId: string) => void} hooks.onSwitchBranch
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.container = $("#messages");
    // What the branch was last drawn from, to draw it again (an edit cancelled).
    this.drawn = { session: null, branch: [] };
    this.isRunning = false;
    const input = $("#message");
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("#composer").requestSubmit();
      }
    });
    input.addEventListener("input", () => autosize(input));
    $("#composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value;
      if (!text.trim() || !this.hooks.onSend(text)) return;
      input.value = "";
      autosize(input);
    });
    $("#stop").addEventListener("click", () => this.hooks.onStop());
  }

  title(text) {
    $("#conversation-title").textContent = text;
  }

  /** Whether a message can be sent (the conversation is drawn). */
  ready(ready) {
    $("#send").disabled = !ready;
  }

  running(running) {
    this.isRunning = running;
    $("#send").hidden = running;
    $("#stop").hidden = !running;
    this.container.setAttribute("aria-busy", String(running));
    // Edit, regenerate and version buttons wait for the turn (the navigator's ends stay off).
    for (const button of document.querySelectorAll("button.needs-idle")) {
      button.disabled = running || button.dataset.edge === "true";
    }
  }

  /** The connection of the turn being followed: "live", "reconnecting" or "ended". */
  connection(state) {
    const element = $("#connection");
    element.classList.toggle("offline", state === "reconnecting");
    element.textContent = state === "reconnecting" ? "Connection lost: reconnecting…" : state === "live" && this.isRunning ? "Working…" : "";
  }

  /** Draws a session's branch: `[{message, sibling_ids, sibling_index}]`. */
  branch(session, branch) {
    this.drawn = { session, branch };
    if (!branch.length) {
      this.container.replaceChildren(
        h("div", { class: "empty" },
          h("h2", {}, "What should we build?"),
          h("p", {}, "OKCVM works in its own workspace: it can run code, write files, make slides and deploy websites. Uploaded files land in its upload folder.")),
      );
      return;
    }
    const results = new Map();
    for (const entry of branch) {
      const m = entry.message;
      if (m.role === "tool" && m.tool_call_id) results.set(m.tool_call_id, m);
    }
    const lastAssistant = [...branch].reverse().find((e) => e.message.role === "assistant");
    const nodes = [];
    let turn = null;
    for (const entry of branch) {
      const m = entry.message;
      if (m.role === "user") {
        turn = null;
        nodes.push(this.userMessage(entry));
      } else if (m.role === "assistant") {
        if (!turn) {
          turn = h("div", { class: "message assistant" });
          nodes.push(turn);
        }
        this.appendAssistant(session, turn, m, results, m === lastAssistant?.message);
      }
    }
    this.container.replaceChildren(...nodes);
    this.scrollToEnd(true);
  }

  redraw() {
    this.branch(this.drawn.session, this.drawn.branch);
  }

  userMessage(entry) {
    const m = entry.message;
    const wrapper = h("div", { class: "message user", dataset: { id: m.id } });
    const bubble = h("div", { class: "bubble" }, m.content);
    const attachments = (m.attachments || []).length
      ? h("div", { class: "hint" }, `Attached: ${m.attachments.map((p) => p.split("/").pop()).join(", ")}`)
      : null;
    const toolbar = h("div", { class: "toolbar" },
      this.navigator(entry),
      h("button", { type: "button", class: "link", onclick: (e) => copyText(m.content, e.currentTarget), "aria-label": "Copy message" }, "Copy"),
      h("button", { type: "button", class: "link needs-idle", disabled: this.isRunning, onclick: () => this.startEdit(wrapper, m), "aria-label": "Edit message" }, "Edit"));
    wrapper.append(bubble, attachments || "", toolbar);
    return wrapper;
  }

  /** `< 2/3 >` between the branches that start at this message. */
  navigator(entry) {
    const count = entry.sibling_ids.length;
    if (count < 2) return "";
    const index = entry.sibling_index;
    const go = (step) => this.hooks.onSwitchBranch(entry.sibling_ids[index + step]);
    return h("span", { class: "branches", role: "group", "aria-label": "Versions of this message" },
      h("button", { type: "button", class: "link needs-idle", dataset: { edge: String(index === 0) }, disabled: index === 0 || this.isRunning, onclick: () => go(-1), "aria-label": "Previous version" }, "<"),
      h("span", {}, `${index + 1}/${count}`),
      h("button", { type: "button", class: "link needs-idle", dataset: { edge: String(index === count - 1) }, disabled: index === count - 1 || this.isRunning, onclick: () => go(1), "aria-label": "Next version" }, ">"));
  }

  startEdit(wrapper, message) {
    const area = h("textarea", { "aria-label": "Edit message" });
    area.value = message.content;
    const box = h("div", { class: "edit-box" }, area,
      h("div", { class: "row" },
        h("button", { type: "button", onclick: () => this.redraw() }, "Cancel"),
        h("button", {
          type: "button",
          class: "primary",
          onclick: () => {
            if (!area.value.trim()) return;
            this.hooks.onEdit(message.id, area.value);
          },
        }, "Save and send")));
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.redraw();
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        box.querySelector(".primary").click();
      }
    });
    wrapper.replaceChildren(box);
    area.focus();
  }

  appendAssistant(session, turn, message, results, isLast) {
    if (message.reasoning) turn.append(reasoningBlock(message.reasoning, false));
    if (message.content) {
      const content = h("div", { class: "content" });
      renderMarkdown(content, message.content);
      turn.append(content);
    }
    if (message.incomplete) {
      turn.append(h("div", { class: "cut-off", role: "note" }, "This answer was cut off: the connection to the model failed before it ended."));
    }
    for (const call of message.tool_calls || []) {
      const result = results.get(call.id);
      turn.append(toolCard(session, {
        name: call.name,
        input: call.arguments,
        status: !result ? "failed" : result.is_error ? "failed" : "done",
        durationMs: result?.duration_ms ?? null,
        output: result ? result.content : "no result was recorded (the turn ended first)",
        images: result?.images || [],
        media: result?.data?.media ? result.data : null,
      }));
    }
    if (!(message.tool_calls || []).length) {
      turn.append(this.facts(message, isLast));
    }
  }

  facts(message, isLast) {
    const measured = message.measured;
    const parts = [];
    if (measured) {
      if (measured.model) parts.push(h("span", {}, measured.model));
      if (measured.tokens_in !== undefined) parts.push(h("span", {}, `${measured.tokens_in} tokens in`));
      if (measured.tokens_out !== undefined) parts.push(h("span", {}, `${measured.tokens_out} tokens out`));
      parts.push(h("span", {}, duration(measured.latency_ms)));
    }
    return h("div", { class: "facts" }, parts,
      h("button", { type: "button", class: "link", onclick: (e) => copyText(message.content, e.currentTarget), "aria-label": "Copy answer" }, "Copy"),
      isLast ? h("button", { type: "button", class: "link needs-idle", disabled: this.isRunning, onclick: () => this.hooks.onRegenerate(), "aria-label": "Regenerate answer" }, "Regenerate") : null);
  }

  /** A place at the end of the branch for a turn drawn as its events arrive. */
  liveTurn(session) {
    const element = h("div", { class: "message assistant live", "aria-live": "polite" });
    this.container.querySelector(".empty")?.remove();
    this.container.append(element);
    return new LiveTurn(session, element, () => this.scrollToEnd(false));
  }

  /** A failed turn's error after the branch (the branch keeps no trace of it). */
  turnError(error) {
    this.container.append(h("div", { class: "message assistant" }, h("div", { class: "turn-error", role: "alert" }, `${error.message} (${error.code})`)));
    this.scrollToEnd(true);
  }

  scrollToEnd(force) {
    const container = this.container;
    const near = container.scrollHeight - container.scrollTop - container.clientHeight < 120;
    if (force || near) container.scrollTop = container.scrollHeight;
  }
}

/** A running turn's element, drawn from the turn's state (`turn.js`) at most once a frame. */
class LiveTurn {
  constructor(session, element, scrolled) {
    this.session = session;
    this.element = element;
    this.scrolled = scrolled;
    this.pending = null;
  }

  /** Draws `state` at the next frame (states arriving before it are drawn once). */
  update(state) {
    const scheduled = this.pending !== null;
    this.pending = state;
    if (scheduled) return;
    requestAnimationFrame(() => {
      const latest = this.pending;
      this.pending = null;
      if (latest) this.draw(latest);
    });
  }

  /** Draws `state` now (a frame still scheduled draws nothing more). */
  draw(state) {
    this.pending = null;
    const nodes = [];
    if (state.reasoning) nodes.push(reasoningBlock(state.reasoning, state.status === "running" && !state.text));
    const tools = new Map(state.tools.map((t) => [t.id, t]));
    state.segments.forEach((segment, i) => {
      if (segment.kind === "tool") {
        nodes.push(toolCard(this.session, tools.get(segment.id)));
      } else {
        const content = h("div", { class: "content" });
        renderMarkdown(content, segment.text);
        if (state.status === "running" && i === state.segments.length - 1) content.classList.add("typing");
        nodes.push(content);
      }
    });
    if (!state.segments.length && state.status === "running") nodes.push(h("div", { class: "content typing hint" }, "Thinking"));
    if (state.error) nodes.push(h("div", { class: "turn-error", role: "alert" }, `${state.error.message} (${state.error.code})`));
    if (state.status === "stopped") nodes.push(h("div", { class: "hint" }, "Stopped."));
    this.element.replaceChildren(...nodes);
    this.scrolled();
  }

  /** Stops drawing (the conversation was left). */
  discard() {
    this.pending = null;
  }
}

function reasoningBlock(text, open) {
  return h("details", { class: "reasoning", open }, h("summary", {}, "Reasoning"), h("div", {}, text));
}

function toolCard(session, tool) {
  const state = tool.status === "running"
    ? "running…"
    : tool.status === "failed"
      ? `failed${tool.durationMs !== null ? ` after ${duration(tool.durationMs)}` : ""}`
      : `done${tool.durationMs !== null ? ` in ${duration(tool.durationMs)}` : ""}`;
  const name = toolName(tool.name);
  const body = h("div", { class: "body" });
  if (tool.input) body.append(h("div", { class: "hint" }, "Arguments"), h("pre", {}, prettyJson(tool.input)));
  if (tool.output || tool.error) body.append(h("div", { class: "hint" }, tool.error ? "Error" : "Output"), h("pre", {}, tool.error || tool.output));
  for (const image of tool.images || []) {
    body.append(h("img", { src: `data:${image.mime};base64,${image.data_base64}`, alt: image.path || "tool image" }));
  }
  // A generated image or sound: shown or played from the workspace.
  if (tool.media?.media === "image") body.append(h("img", { src: fileUrl(session, tool.media.file), alt: tool.media.file }));
  if (tool.media?.media === "audio") body.append(h("audio", { src: fileUrl(session, tool.media.file), controls: true, preload: "metadata" }));
  return h("details", { class: "tool", dataset: { tool: name, status: tool.status } },
    h("summary", {},
      h("span", { class: "name" }, name),
      h("span", { class: "args" }, argumentSummary(tool.input)),
      h("span", { class: `state ${tool.status}` }, state)),
    body);
}

function prettyJson(text) {
  try {
    return JSON.stringify(typeof text === "string" ? JSON.parse(text) : text, null, 2);
  } catch {
    return String(text);
  }
}

function autosize(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, window.innerHeight * 0.4)}px`;
}
