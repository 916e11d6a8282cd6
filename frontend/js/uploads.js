// Uploads: the attach button and drag-and-drop, each batch sent with its progress shown, the
// server's limits said up front and checked before sending (the server checks them again).

import { withSession } from "./api.js";
import { $, h } from "./dom.js";
import { size } from "./format.js";

export class Uploads {
  constructor({ onUploaded }) {
    this.onUploaded = onUploaded;
    this.limits = { limit: 100, max_file_size_bytes: 100 * 1024 * 1024, max_file_size_mb: 100 };
    this.count = 0;
    const input = $("#file-input");
    $("#attach").addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      this.send([...input.files]);
      input.value = "";
    });
    const zone = $("#drop-zone");
    const chat = $("#chat");
    let depth = 0;
    chat.addEventListener("dragenter", (event) => {
      if (![...event.dataTransfer.types].includes("Files")) return;
      depth += 1;
      zone.hidden = false;
    });
    chat.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.hidden = true;
    });
    chat.addEventListener("dragover", (event) => event.preventDefault());
    chat.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      zone.hidden = true;
      this.send([...event.dataTransfer.files]);
    });
  }

  /** Limits and uploads from a boot or upload-list reply. */
  setState({ limit, max_file_size_bytes, max_file_size_mb, upload_limit, max_upload_size_bytes, max_upload_size_mb, uploads, files }) {
    this.limits = {
      limit: limit ?? upload_limit ?? this.limits.limit,
      max_file_size_bytes: max_file_size_bytes ?? max_upload_size_bytes ?? this.limits.max_file_size_bytes,
      max_file_size_mb: max_file_size_mb ?? max_upload_size_mb ?? this.limits.max_file_size_mb,
    };
    const list = uploads || files || [];
    this.count = list.length;
    $("#limits").textContent = `Uploads: ${this.count} of ${this.limits.limit} files, up to ${this.limits.max_file_size_mb} MB each.`;
    $("#upload-list").replaceChildren(...list.map((file) => h("li", { title: file.path }, `${file.name} (${file.size_display})`)));
  }

  /** The reason a batch cannot be sent, or null. */
  refusal(files) {
    if (this.count + files.length > this.limits.limit) {
      return `At most ${this.limits.limit} files per conversation: ${this.count} uploaded, ${files.length} more chosen.`;
    }
    const big = files.find((f) => f.size > this.limits.max_file_size_bytes);
    if (big) return `${big.name} is ${size(big.size)}: the limit is ${this.limits.max_file_size_mb} MB per file.`;
    return null;
  }

  send(files) {
    if (!files.length) return;
    const row = h("li", {}, `Uploading ${files.length} file${files.length === 1 ? "" : "s"} `, h("progress", { max: 100, value: 0, "aria-label": "Upload progress" }));
    $("#upload-list").append(row);
    const refused = this.refusal(files);
    if (refused) {
      this.fail(row, refused);
      return;
    }
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", withSession("/api/session/files"));
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) row.querySelector("progress").value = Math.round((event.loaded / event.total) * 100);
    });
    request.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // keep the status
      }
      if (request.status >= 200 && request.status < 300) {
        row.remove();
        this.setState(body);
        this.onUploaded(body);
      } else {
        this.fail(row, body.detail || `The upload failed (${request.status}).`);
      }
    });
    request.addEventListener("error", () => this.fail(row, "The upload failed: the server cannot be reached."));
    request.send(form);
  }

  fail(row, message) {
    row.className = "failed";
    row.setAttribute("role", "alert");
    row.replaceChildren(message, " ", h("button", { type: "button", class: "link", onclick: () => row.remove(), "aria-label": "Dismiss" }, "×"));
  }
}
