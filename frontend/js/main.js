// The console: signs in when the server needs a token, lists conversations, draws the open
// conversation from the server (so nothing is lost on reload), streams turns as they run and
// follows them again after a drop, and keeps the results panel in step.

import { api, ApiError, fileUrl, openStream, setSession, sessionId } from "./api.js";
import { Conversations } from "./conversations.js";
import { $, h, notice } from "./dom.js";
import { argumentSummary, duration, toolName } from "./format.js";
import { copyText, renderMarkdown } from "./markdown.js";
import { Results } from "./results.js";
import { Settings } from "./settings.js";
import { EventFollower } from "./stream.js";
import { applyEvent, newTurn } from "./turn.js";
import { Uploads } from "./uploads.js";

const STORED_CONVERSATION = "okcvm.conversation";
const STORED_THEME = "okcvm.theme";

const app = {
  identity: null,
  loads: 0,
  ready: false,
  branch: [],
  running: false,
  follower: null,
  live: null,
  conversations: null,
  results: null,
  settings: null,
  uploads: null,
};

// ---- Start ----------------------------------------------------------------------------------

async function start() {
  applyTheme(localStorage.getItem(STORED_THEME));
  try {
    app.identity = await api("/api/auth/me", { scoped: false });
  } catch (error) {
    if (error.status === 401) return showSignIn();
    return fatal(error);
  }
  $("#boot").hidden = true;
  $("#app").hidden = false;
  $("#sign-out").hidden = app.identity.auth !== "tokens";
  wire();
  await app.conversations.load().catch(fatal);
  const wanted = new URLSearchParams(location.hash.slice(1)).get("c") || localStorage.getItem(STORED_CONVERSATION);
  const conversation = app.conversations.get(wanted) || app.conversations.items[0] || (await app.conversations.create());
  await openConversation(conversation.id);
  await app.settings.load().catch(() => {});
  if (!app.settings.chatConfigured()) {
    notice("No chat model is configured yet: set its model and base URL in Settings.");
    app.settings.open();
  }
}

function fatal(error) {
  $("#boot").textContent = `OKCVM could not start: ${error.message}`;
}

function showSignIn() {
  $("#boot").hidden = true;
  $("#app").hidden = true;
  $("#signin").hidden = false;
  const form = $("#signin-form");
  $("#signin-token").focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#signin-error");
    try {
      await api("/api/auth/login", { method: "POST", scoped: false, body: { token: $("#signin-token").value.trim() } });
      location.reload();
    } catch (failure) {
      error.textContent = failure.status === 401 ? "That token is not valid (unknown or revoked)." : failure.message;
      error.hidden = false;
    }
  });
}

function wire() {
  app.conversations = new Conversations({
    onOpen: (id) => openConversation(id),
    onDeleted: async (id) => {
      if (id !== sessionId()) return;
      const next = app.conversations.items[0] || (await app.conversations.create());
      openConversation(next.id);
    },
  });
  app.results = new Results({ onRestored: () => refreshResults() });
  app.settings = new Settings({
    onSaved: () => notice(app.settings.chatConfigured() ? "" : "No chat model is configured yet: set it in Settings."),
  });
  app.uploads = new Uploads({ onUploaded: () => refreshResults() });

  $("#open-settings").addEventListener("click", () => app.settings.open());
  $("#sign-out").addEventListener("click", async () => {
    await api("/api/auth/logout", { method: "POST", scoped: false }).catch(() => {});
    location.reload();
  });
  $("#theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem(STORED_THEME, next);
    applyTheme(next);
  });
  for (const [button, panel] of [["#toggle-sidebar", "#sidebar"], ["#toggle-results", "#results"]]) {
    $(button).addEventListener("click", () => {
      const open = $(panel).classList.toggle("open");
      $(button).setAttribute("aria-expanded", String(open));
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") for (const panel of ["#sidebar", "#results"]) $(panel).classList.remove("open");
  });

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
    if (!text.trim() || app.running || !app.ready) return;
    input.value = "";
    autosize(input);
    send({ message: text });
  });
  $("#stop").addEventListener("click", stopTurn);
  window.addEventListener("hashchange", () => {
    const id = new URLSearchParams(location.hash.slice(1)).get("c");
    if (id && id !== sessionId() && app.conversations.get(id)) openConversation(id);
  });
}

function applyTheme(theme) {
  const dark = theme ? theme === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("#hljs-dark").disabled = !dark;
  $("#hljs-light").disabled = dark;
  const toggle = $("#theme-toggle");
  if (toggle) toggle.textContent = dark ? "Light" : "Dark";
}

function autosize(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, window.innerHeight * 0.4)}px`;
}

// ---- Conversations --------------------------------------------------------------------------

async function openConversation(id) {
  if (app.follower) app.follower.close();
  app.follower = null;
  app.live = null;
  setRunning(false);
  setSession(id);
  localStorage.setItem(STORED_CONVERSATION, id);
  if (new URLSearchParams(location.hash.slice(1)).get("c") !== id) history.replaceState(null, "", `#c=${encodeURIComponent(id)}`);
  app.conversations.setCurrent(id);
  const conversation = app.conversations.get(id);
  $("#conversation-title").textContent = conversation?.title || "New conversation";
  $("#sidebar").classList.remove("open");
  notice("");
  // Nothing is sent until the conversation is drawn.
  app.ready = false;
  $("#send").disabled = true;
  await loadBranch();
  app.ready = true;
  $("#send").disabled = false;
  await refreshResults();
}

/** Draws the active branch from the server; follows the running turn when there is one. */
async function loadBranch() {
  // Only the newest load draws: an older answer arriving late must not undo a newer one.
  const load = ++app.loads;
  let branch;
  try {
    branch = await api("/api/session/messages");
  } catch (error) {
    notice(`The conversation could not be loaded: ${error.message}`);
    return;
  }
  if (load !== app.loads || app.live) return;
  const running = branch.running_turn;
  // A running turn is drawn from its events (replayed from its start), not its messages so far.
  app.branch = running
    ? branch.messages.filter((entry) => entry.message.role === "user" || entry.message.turn_id !== running)
    : branch.messages;
  drawBranch();
  if (running) followTurn(branch.running_after_seq ?? branch.last_seq);
}

async function refreshResults() {
  try {
    const boot = await api("/api/session/boot");
    app.uploads.setState(boot);
    app.results.update(boot, app.branch);
  } catch (error) {
    notice(`The results could not be loaded: ${error.message}`);
  }
}

// ---- Drawing the branch ---------------------------------------------------------------------

function drawBranch() {
  const container = $("#messages");
  if (!app.branch.length) {
    container.replaceChildren(
      h("div", { class: "empty" },
        h("h2", {}, "What should we build?"),
        h("p", {}, "OKCVM works in its own workspace: it can run code, write files, make slides and deploy websites. Uploaded files land in its upload folder.")),
    );
    return;
  }
  const results = new Map();
  for (const entry of app.branch) {
    const m = entry.message;
    if (m.role === "tool" && m.tool_call_id) results.set(m.tool_call_id, m);
  }
  const lastAssistant = [...app.branch].reverse().find((e) => e.message.role === "assistant");
  const nodes = [];
  let turn = null;
  for (const entry of app.branch) {
    const m = entry.message;
    if (m.role === "user") {
      turn = null;
      nodes.push(userMessage(entry));
    } else if (m.role === "assistant") {
      if (!turn) {
        turn = h("div", { class: "message assistant" });
        nodes.push(turn);
      }
      appendAssistant(turn, m, results, m === lastAssistant?.message);
    }
  }
  container.replaceChildren(...nodes);
  scrollToEnd(true);
}

function userMessage(entry) {
  const m = entry.message;
  const wrapper = h("div", { class: "message user", dataset: { id: m.id } });
  const bubble = h("div", { class: "bubble" }, m.content);
  const attachments = (m.attachments || []).length
    ? h("div", { class: "hint" }, `Attached: ${m.attachments.map((p) => p.split("/").pop()).join(", ")}`)
    : null;
  const toolbar = h("div", { class: "toolbar" },
    navigator(entry),
    h("button", { type: "button", class: "link", onclick: (e) => copyText(m.content, e.currentTarget), "aria-label": "Copy message" }, "Copy"),
    h("button", { type: "button", class: "link needs-idle", disabled: app.running, onclick: () => startEdit(wrapper, m), "aria-label": "Edit message" }, "Edit"));
  wrapper.append(bubble, attachments || "", toolbar);
  return wrapper;
}

/** `< 2/3 >` between the branches that start at this message. */
function navigator(entry) {
  const count = entry.sibling_ids.length;
  if (count < 2) return "";
  const index = entry.sibling_index;
  const go = (step) => switchBranch(entry.sibling_ids[index + step]);
  return h("span", { class: "branches", role: "group", "aria-label": "Versions of this message" },
    h("button", { type: "button", class: "link needs-idle", dataset: { edge: String(index === 0) }, disabled: index === 0 || app.running, onclick: () => go(-1), "aria-label": "Previous version" }, "<"),
    h("span", {}, `${index + 1}/${count}`),
    h("button", { type: "button", class: "link needs-idle", dataset: { edge: String(index === count - 1) }, disabled: index === count - 1 || app.running, onclick: () => go(1), "aria-label": "Next version" }, ">"));
}

function startEdit(wrapper, message) {
  const area = h("textarea", { "aria-label": "Edit message" });
  area.value = message.content;
  const box = h("div", { class: "edit-box" }, area,
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => drawBranch() }, "Cancel"),
      h("button", {
        type: "button",
        class: "primary",
        onclick: () => {
          if (!area.value.trim()) return;
          send({ message: area.value, edit_of: message.id });
        },
      }, "Save and send")));
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") drawBranch();
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      box.querySelector(".primary").click();
    }
  });
  wrapper.replaceChildren(box);
  area.focus();
}

function appendAssistant(turn, message, results, isLast) {
  if (message.reasoning) turn.append(reasoningBlock(message.reasoning, false));
  if (message.content) {
    const content = h("div", { class: "content" });
    renderMarkdown(content, message.content);
    turn.append(content);
  }
  for (const call of message.tool_calls || []) {
    const result = results.get(call.id);
    turn.append(toolCard({
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
    turn.append(facts(message, isLast));
  }
}

function reasoningBlock(text, open) {
  return h("details", { class: "reasoning", open }, h("summary", {}, "Reasoning"), h("div", {}, text));
}

function facts(message, isLast) {
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
    isLast ? h("button", { type: "button", class: "link needs-idle", disabled: app.running, onclick: regenerate, "aria-label": "Regenerate answer" }, "Regenerate") : null);
}

function toolCard(tool) {
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
  if (tool.media?.media === "image") body.append(h("img", { src: fileUrl(tool.media.file), alt: tool.media.file }));
  if (tool.media?.media === "audio") body.append(h("audio", { src: fileUrl(tool.media.file), controls: true, preload: "metadata" }));
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

function scrollToEnd(force) {
  const container = $("#messages");
  const near = container.scrollHeight - container.scrollTop - container.clientHeight < 120;
  if (force || near) container.scrollTop = container.scrollHeight;
}

// ---- Turns ----------------------------------------------------------------------------------

function setRunning(running) {
  app.running = running;
  $("#send").hidden = running;
  $("#stop").hidden = !running;
  $("#messages").setAttribute("aria-busy", String(running));
  // Edit, regenerate and version buttons wait for the turn (the navigator's ends stay off).
  for (const button of document.querySelectorAll("button.needs-idle")) {
    button.disabled = running || button.dataset.edge === "true";
  }
}

function connection(state) {
  const element = $("#connection");
  element.classList.toggle("offline", state === "reconnecting");
  element.textContent = state === "reconnecting" ? "Connection lost: reconnecting…" : state === "live" && app.running ? "Working…" : "";
}

/** Starts a turn: `{message, edit_of?, replace_last?}`. */
async function send(request) {
  if (app.running) return;
  if (app.settings && !app.settings.chatConfigured()) {
    await app.settings.load().catch(() => {});
    if (!app.settings.chatConfigured()) {
      notice("No chat model is configured yet: set its model and base URL in Settings.");
      app.settings.open();
      return;
    }
  }
  notice("");
  const first = !app.branch.some((e) => e.message.role === "user") || (request.edit_of && app.branch[0]?.message.id === request.edit_of);
  // The user's message shows at once, in place of what it replaces.
  if (request.edit_of) {
    const index = app.branch.findIndex((e) => e.message.id === request.edit_of);
    app.branch = app.branch.slice(0, Math.max(index, 0));
  } else if (request.replace_last) {
    const index = app.branch.map((e) => e.message.role).lastIndexOf("user");
    app.branch = app.branch.slice(0, Math.max(index, 0));
  }
  app.branch = [...app.branch, { message: { id: "pending", role: "user", content: request.message }, sibling_ids: [], sibling_index: 0 }];
  drawBranch();
  const response = openStream("/api/chat", { method: "POST", body: { ...request, stream: true } });
  startLiveTurn(0);
  try {
    await app.follower.startWith(response);
  } catch (error) {
    turnRefused(error);
    return;
  }
  if (first) app.conversations.touch(sessionId(), request.message).then(() => {
    $("#conversation-title").textContent = app.conversations.get(sessionId())?.title || "";
  });
  else app.conversations.touch(sessionId());
}

function regenerate() {
  const last = [...app.branch].reverse().find((e) => e.message.role === "user");
  if (last) send({ message: last.message.content, replace_last: true });
}

function turnRefused(error) {
  setRunning(false);
  app.live = null;
  connection("ended");
  if (error instanceof ApiError && error.code === "turn_in_progress") {
    notice("A turn is already running in this conversation (perhaps in another tab): it is shown when it ends.");
  } else {
    notice(`The message was not sent: ${error.message}`);
  }
  loadBranch();
}

/** Follows a turn already running (another tab started it, or this page was reloaded). */
function followTurn(after) {
  startLiveTurn(after);
  app.follower.follow().catch((error) => notice(`Following the turn failed: ${error.message}`));
}

function startLiveTurn(after) {
  if (app.follower) app.follower.close();
  setRunning(true);
  const element = h("div", { class: "message assistant live", "aria-live": "polite" });
  $("#messages").querySelector(".empty")?.remove();
  $("#messages").append(element);
  app.live = { state: newTurn(), element, scheduled: false, conversation: sessionId() };
  app.follower = new EventFollower({
    after,
    onEvent: (event) => {
      if (!app.live) return;
      app.live.state = applyEvent(app.live.state, event);
      scheduleLive();
      if (event.type === "stop") finishTurn();
    },
    onState: connection,
  });
  drawLive();
}

function scheduleLive() {
  if (app.live.scheduled) return;
  app.live.scheduled = true;
  requestAnimationFrame(() => {
    if (!app.live) return;
    app.live.scheduled = false;
    drawLive();
  });
}

function drawLive() {
  const { state, element } = app.live;
  const nodes = [];
  if (state.reasoning) nodes.push(reasoningBlock(state.reasoning, state.status === "running" && !state.text));
  const tools = new Map(state.tools.map((t) => [t.id, t]));
  state.segments.forEach((segment, i) => {
    if (segment.kind === "tool") {
      nodes.push(toolCard(tools.get(segment.id)));
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
  element.replaceChildren(...nodes);
  scrollToEnd(false);
}

async function finishTurn() {
  const live = app.live;
  if (!live) return;
  drawLive();
  app.live = null;
  setRunning(false);
  connection("ended");
  if (live.conversation !== sessionId()) return;
  const failed = live.state.error;
  await loadBranch();
  if (failed) {
    // The branch has no trace of a failed turn's error: keep it in view.
    $("#messages").append(h("div", { class: "message assistant" }, h("div", { class: "turn-error", role: "alert" }, `${failed.message} (${failed.code})`)));
    scrollToEnd(true);
  }
  await refreshResults();
  const payload = live.state.payload;
  if (payload?.web_preview?.url) app.results.selectByName("preview");
  else if ((payload?.ppt_slides || []).length) app.results.selectByName("slides");
}

async function stopTurn() {
  try {
    await api("/api/session/stop", { method: "POST" });
  } catch (error) {
    notice(`Stopping failed: ${error.message}`);
  }
}

async function switchBranch(messageId) {
  if (app.running || !messageId) return;
  try {
    const branch = await api("/api/session/history/switch", { method: "POST", body: { message_id: messageId } });
    app.branch = branch.messages;
    drawBranch();
    await refreshResults();
  } catch (error) {
    notice(`Switching versions failed: ${error.message}`);
  }
}

start();
