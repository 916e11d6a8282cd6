// The console: signs in when the server needs a token, then wires the page together: the
// conversation list (conversations.js), the open conversation (conversation.js, which draws
// it through the chat, results and uploads views), settings, the theme and the panels that
// fold away on narrow screens.

import { api } from "./api.js";
import { ConversationController, conversationInAddress, requestedConversation } from "./conversation.js";
import { Conversations } from "./conversations.js";
import { $, notice } from "./dom.js";
import { Settings } from "./settings.js";

const STORED_THEME = "okcvm.theme";

async function start() {
  applyTheme(localStorage.getItem(STORED_THEME));
  let identity;
  try {
    identity = await api("/api/auth/me");
  } catch (error) {
    if (error.status === 401) return showSignIn();
    return fatal(error);
  }
  $("#boot").hidden = true;
  $("#app").hidden = false;
  $("#sign-out").hidden = identity.auth !== "tokens";
  const { conversations, controller, settings } = wire();
  await conversations.load().catch(fatal);
  const conversation = conversations.get(requestedConversation()) || conversations.items[0] || (await conversations.create());
  await controller.openConversation(conversation.id);
  await settings.load().catch(() => {});
  if (!settings.chatConfigured()) {
    notice("No chat model is configured yet: set its model and base URL in Settings.");
    settings.open();
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
      await api("/api/auth/login", { method: "POST", body: { token: $("#signin-token").value.trim() } });
      location.reload();
    } catch (failure) {
      error.textContent = failure.status === 401 ? "That token is not valid (unknown or revoked)." : failure.message;
      error.hidden = false;
    }
  });
}

function wire() {
  const settings = new Settings({
    onSaved: () => notice(settings.chatConfigured() ? "" : "No chat model is configured yet: set it in Settings."),
  });
  const conversations = new Conversations({
    onOpen: (id) => controller.openConversation(id),
    onDeleted: async (id) => {
      if (id !== controller.current) return;
      const next = conversations.items[0] || (await conversations.create());
      controller.openConversation(next.id);
    },
  });
  const controller = new ConversationController({
    conversations,
    settings,
    // On a narrow screen the list folds away once a conversation is chosen.
    onOpened: () => $("#sidebar").classList.remove("open"),
  });

  $("#open-settings").addEventListener("click", () => settings.open());
  $("#sign-out").addEventListener("click", async () => {
    await api("/api/auth/logout", { method: "POST" }).catch(() => {});
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
  window.addEventListener("hashchange", () => {
    const id = conversationInAddress();
    if (id && id !== controller.current && conversations.get(id)) controller.openConversation(id);
  });
  return { conversations, controller, settings };
}

function applyTheme(theme) {
  const dark = theme ? theme === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("#hljs-dark").disabled = !dark;
  $("#hljs-light").disabled = dark;
  const toggle = $("#theme-toggle");
  if (toggle) toggle.textContent = dark ? "Light" : "Dark";
}

start();
