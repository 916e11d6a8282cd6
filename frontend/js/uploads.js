// Uploads: the attach button and drag-and-drop hand chosen files to the controller; the
// server's limits said up front and checked before sending (the server checks them again);
// each batch drawn with its progress, or why it failed.

import { $, h } from "./dom.js";
import { size } from "./format.js";

/** The limits assumed until the server has said its own. */
export const DEFAULT_LIMITS = { limit: 100, max_file_size_bytes: 100 * 1024 * 1024, max_file_size_mb: 100 };

/**
 * The limits and uploaded files of a boot or upload-list reply; a limit the reply does not
 * name stays as in `limits`.
 */
export function readUploads(reply, limits = DEFAULT_LIMITS) {
  const { limit, max_file_size_bytes, max_file_size_mb, upload_limit, max_upload_size_bytes, max_upload_size_mb, uploads, files } = reply;
  return {
    limits: {
      limit: limit ?? upload_limit ?? limits.limit,
      max_file_size_bytes: max_file_size_bytes ?? max_upload_size_bytes ?? limits.max_file_size_bytes,
      max_file_size_mb: max_file_size_mb ?? max_upload_size_mb ?? limits.max_file_size_mb,
    },
    files: uploads || files || [],
  };
}

/** The reason a batch cannot be sent with `count` files already uploaded, or null. */
export function refusal(limits, count, files) {
  if (count + files.length > limits.limit) {
    return `At most ${limits.limit} files per conversation: ${count} uploaded, ${files.length} more chosen.`;
  }
  const big = files.find((f) => f.size > limits.max_file_size_bytes);
  if (big) return `${big.name} is ${size(big.size)}: the limit is ${limits.max_file_size_mb} MB per file.`;
  return null;
}

export class UploadsView {
  /** @param {{onFiles: (files: File[]) => void}} hooks files chosen or dropped */
  constructor({ onFiles }) {
    const input = $("#file-input");
    $("#attach").addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      onFiles([...input.files]);
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
      onFiles([...event.dataTransfer.files]);
    });
  }

  /** The limits and the conversation's uploaded files (batches still drawn go). */
  draw(limits, files) {
    $("#limits").textContent = `Uploads: ${files.length} of ${limits.limit} files, up to ${limits.max_file_size_mb} MB each.`;
    $("#upload-list").replaceChildren(...files.map((file) => h("li", { title: file.path }, `${file.name} (${file.size_display})`)));
  }

  /** A batch of `count` files on its way: `progress(fraction)`, `done()`, `fail(message)`. */
  batch(count) {
    const row = h("li", {}, `Uploading ${count} file${count === 1 ? "" : "s"} `, h("progress", { max: 100, value: 0, "aria-label": "Upload progress" }));
    $("#upload-list").append(row);
    return {
      progress: (fraction) => {
        const bar = row.querySelector("progress");
        if (bar) bar.value = Math.round(fraction * 100);
      },
      done: () => row.remove(),
      fail: (message) => {
        row.className = "failed";
        row.setAttribute("role", "alert");
        row.replaceChildren(message, " ", h("button", { type: "button", class: "link", onclick: () => row.remove(), "aria-label": "Dismiss" }, "×"));
      },
    };
  }
}
