// The results panel, drawn from what the conversation controller hands it: the deployed site
// in a sandboxed frame, the newest deck's outline and download, generated images and audio, a
// workspace file browser with previews, and the snapshot list. It fetches nothing: taking a
// snapshot, restoring one, opening a folder or a file go to the controller's hooks.

import { fileUrl } from "./api.js";
import { $, h } from "./dom.js";
import { relativeTime, size } from "./format.js";

const TEXT_PREVIEW = /\.(txt|md|csv|json|py|js|ts|html|css|log|yaml|yml|toml|xml|sh|rs|sql)$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|bmp)$/i;
const MAX_PREVIEW_BYTES = 256 * 1024;

/** How a workspace file is previewed: "image" (shown from its URL), "text" (its text fetched) or "none". */
export function previewKind(entry) {
  if (IMAGE.test(entry.name)) return "image";
  if (TEXT_PREVIEW.test(entry.name) && (entry.size_bytes || 0) <= MAX_PREVIEW_BYTES) return "text";
  return "none";
}

export class ResultsView {
  /**
   * @param {object} hooks
   * @param {() => void} hooks.onTakeSnapshot
   * @param {(snapshot) => void} hooks.onRestore
   * @param {(folder: string) => void} hooks.onFolder the Files tab shows `folder` (relative to the workspace)
   * @param {(entry) => void} hooks.onPreview a file of the listing was chosen
   */
  constructor(hooks) {
    this.hooks = hooks;
    // The folder the Files tab shows.
    this.folder = "";
    this.tabs = [...document.querySelectorAll('#results [role="tab"]')];
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => this.select(tab));
      tab.addEventListener("keydown", (event) => this.arrow(event, tab));
    }
  }

  select(tab, focus = false) {
    for (const other of this.tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(`#${other.getAttribute("aria-controls")}`).hidden = !selected;
    }
    if (focus) tab.focus();
    if (tab.id === "tab-files") this.openFolder(this.folder);
  }

  arrow(event, tab) {
    const index = this.tabs.indexOf(tab);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    this.select(this.tabs[(index + step + this.tabs.length) % this.tabs.length], true);
  }

  selectByName(name) {
    this.select($(`#tab-${name}`));
  }

  /** Whether the Files tab is the one shown. */
  get filesShown() {
    return !$("#panel-files").hidden;
  }

  openFolder(folder) {
    this.folder = folder;
    this.hooks.onFolder(folder);
  }

  /** Redraws the panels from a session's boot reply and its branch's messages. */
  update(session, boot, messages) {
    this.preview(boot.web_preview);
    this.slides(session, boot.ppt_slides || [], newestDeck(messages));
    this.media(boot.artifacts || []);
    this.snapshots(boot.workspace_state || {});
  }

  preview(site) {
    const panel = $("#panel-preview");
    if (!site || !site.url) {
      panel.replaceChildren(h("p", { class: "hint" }, "Sites the agent deploys appear here."));
      return;
    }
    panel.replaceChildren(
      h("div", { class: "row" },
        h("strong", {}, site.title || "Deployed site"),
        h("a", { href: site.url, target: "_blank", rel: "noopener noreferrer" }, "Open in new tab")),
      h("iframe", {
        src: site.url,
        title: site.title || "Deployed site",
        sandbox: "allow-scripts allow-forms allow-popups allow-modals",
        referrerpolicy: "no-referrer",
        loading: "lazy",
      }),
    );
  }

  slides(session, outline, deck) {
    const panel = $("#panel-slides");
    if (!outline.length) {
      panel.replaceChildren(h("p", { class: "hint" }, "Slide decks the agent makes appear here."));
      return;
    }
    panel.replaceChildren(
      h("div", { class: "row" },
        h("strong", {}, `${outline.length} slide${outline.length === 1 ? "" : "s"}`),
        deck ? h("a", { href: fileUrl(session, deck), download: deck.split("/").pop() }, "Download .pptx") : null),
      h("ol", { class: "outline" },
        outline.map((slide) =>
          h("li", {}, h("strong", {}, slide.title || "(no title)"),
            slide.bullets && slide.bullets.length ? h("ul", {}, slide.bullets.map((b) => h("li", {}, b))) : null))),
    );
  }

  media(artifacts) {
    const panel = $("#panel-media");
    const items = artifacts.filter((a) => ["image", "audio", "video"].includes(a.type));
    if (!items.length) {
      panel.replaceChildren(h("p", { class: "hint" }, "Images, speech and sounds in the output folder appear here."));
      return;
    }
    panel.replaceChildren(
      h("div", { class: "media" },
        items.map((item) => {
          const player = item.type === "image"
            ? h("img", { src: item.url, alt: item.name, loading: "lazy" })
            : h(item.type, { src: item.url, controls: true, preload: "metadata" });
          return h("figure", {}, player, h("figcaption", {}, h("a", { href: item.url, download: item.name.split("/").pop() }, item.name), ` (${size(item.size_bytes || 0)})`));
        })),
    );
  }

  snapshots(state) {
    const panel = $("#panel-snapshots");
    const take = h("button", { type: "button", onclick: () => this.hooks.onTakeSnapshot() }, "Take a snapshot now");
    const list = state.snapshots || [];
    panel.replaceChildren(
      h("div", { class: "row" }, h("strong", {}, "Workspace snapshots"), take),
      list.length
        ? h("ul", { class: "snapshot-list" },
          list.map((snapshot) =>
            h("li", {},
              h("span", {}, snapshot.label || snapshot.id, h("br"), h("small", { class: "hint" }, relativeTime(Date.parse(snapshot.timestamp) || snapshot.timestamp))),
              h("button", { type: "button", onclick: () => this.hooks.onRestore(snapshot) }, "Restore"))))
        : h("p", { class: "hint" }, "A snapshot of the files is taken after every turn."),
    );
  }

  /** Draws a session's folder listing (`GET /api/session/workspace/files`). */
  files(session, folder, listing) {
    const up = folder
      ? h("li", {}, h("button", { type: "button", class: "name", onclick: () => this.openFolder(folder.split("/").slice(0, -1).join("/")) }, "↑ .."))
      : null;
    const rows = listing.entries.map((entry) => {
      if (entry.type === "dir") {
        return h("li", {}, h("button", { type: "button", class: "name", onclick: () => this.openFolder(entry.relative_path) }, `📁 ${entry.name}`));
      }
      return h("li", {},
        h("button", { type: "button", class: "name", onclick: () => this.hooks.onPreview(entry) }, entry.name),
        h("small", { class: "hint" }, size(entry.size_bytes || 0)),
        h("a", { href: fileUrl(session, entry.path), download: entry.name, "aria-label": `Download ${entry.name}` }, "↓"));
    });
    $("#panel-files").replaceChildren(
      h("div", { class: "row" }, h("strong", {}, listing.path)),
      h("ul", { class: "files-list" }, up, rows.length ? rows : h("li", { class: "hint" }, "Empty folder")),
      h("div", { id: "file-preview", class: "file-preview" }),
    );
  }

  filesError(message) {
    $("#panel-files").replaceChildren(h("p", { class: "error" }, message));
  }

  /**
   * Shows a file of the listing: `text` is its text for a "text" preview, else unused (an
   * image is shown from `url`, other files are offered for download).
   */
  filePreview(entry, url, text) {
    const target = $("#file-preview");
    if (!target) return;
    const kind = previewKind(entry);
    if (kind === "image") {
      target.replaceChildren(h("img", { src: url, alt: entry.name }));
    } else if (kind === "text") {
      target.replaceChildren(h("div", { class: "row" }, h("strong", {}, entry.name), h("a", { href: url, download: entry.name }, "Download")), h("pre", {}, text));
    } else {
      target.replaceChildren(h("p", {}, `${entry.name} (${size(entry.size_bytes || 0)}) has no preview. `, h("a", { href: url, download: entry.name }, "Download")));
    }
  }
}

/** The newest deck a tool wrote on this branch (its agent path). */
function newestDeck(messages) {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const data = messages[i].message.data;
    if (data && typeof data.file === "string" && data.file.endsWith(".pptx")) return data.file;
  }
  return null;
}

