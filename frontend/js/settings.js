// Settings: the chat, image, speech, sound-effect and speech-recognition endpoints, read from
// and saved through /api/config. A stored key is shown as stored, never displayed; an empty
// key field keeps it, "Remove the stored key" clears it.

import { api } from "./api.js";
import { $, h } from "./dom.js";

const SECTIONS = [
  ["chat", "Chat model"],
  ["image", "Image generation"],
  ["speech", "Speech"],
  ["sound_effects", "Sound effects"],
  ["asr", "Speech recognition"],
];

export class Settings {
  constructor({ onSaved }) {
    this.onSaved = onSaved;
    this.config = {};
    this.dialog = $("#settings-dialog");
    $("#settings-cancel").addEventListener("click", () => this.dialog.close());
    $("#settings-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async load() {
    this.config = await api("/api/config");
    return this.config;
  }

  chatConfigured() {
    return Boolean(this.config.chat && this.config.chat.model && this.config.chat.base_url);
  }

  async open() {
    await this.load().catch(() => {});
    $("#settings-error").hidden = true;
    $("#settings-sections").replaceChildren(...SECTIONS.map(([key, label]) => this.section(key, label)));
    this.dialog.showModal();
    $(`#cfg-chat-model`).focus();
  }

  section(key, label) {
    const current = this.config[key] || {};
    const field = (name, text, attributes = {}) => [
      h("label", { for: `cfg-${key}-${name}` }, text),
      h("input", { id: `cfg-${key}-${name}`, name: `${key}.${name}`, ...attributes }),
    ];
    const stored = current.api_key_present
      ? current.api_key_env
        ? `A key comes from the environment (${current.api_key_env}).`
        : "A key is stored."
      : "No key stored.";
    return h("fieldset", { dataset: { section: key } },
      h("legend", {}, label),
      field("model", "Model", { type: "text", value: current.model || "", autocomplete: "off", placeholder: key === "chat" ? "e.g. kimi-k2, gpt-4o, llama3" : "" }),
      field("base_url", "Base URL", { type: "url", value: current.base_url || "", autocomplete: "off", placeholder: "https://api.example.com/v1" }),
      field("api_key", "API key", { type: "password", value: "", autocomplete: "new-password", placeholder: current.api_key_present ? "stored: leave empty to keep" : "" }),
      h("p", { class: "key-state" }, stored),
      current.api_key_present && !current.api_key_env
        ? h("label", {}, h("input", { type: "checkbox", id: `cfg-${key}-clear` }), " Remove the stored key")
        : null,
    );
  }

  body() {
    const body = {};
    for (const [key] of SECTIONS) {
      const value = (name) => ($(`#cfg-${key}-${name}`)?.value || "").trim();
      const model = value("model");
      const baseUrl = value("base_url");
      const key_ = value("api_key");
      const clear = $(`#cfg-${key}-clear`)?.checked;
      const had = Boolean(this.config[key]);
      if (!model && !baseUrl) {
        if (had) body[key] = null;
        continue;
      }
      const section = { model, base_url: baseUrl };
      if (key_) section.api_key = key_;
      else if (clear) section.api_key = "";
      body[key] = section;
    }
    return body;
  }

  async save() {
    const error = $("#settings-error");
    try {
      this.config = await api("/api/config", { method: "POST", body: this.body() });
      this.dialog.close();
      this.onSaved(this.config);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  }
}
