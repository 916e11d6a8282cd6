// Model replies as markdown: parsed by marked, sanitised by DOMPurify (no script, handler or
// foreign frame from a reply ever runs), code highlighted by highlight.js, each code block with
// a copy button. Links open in a new tab without a referrer.

import { marked } from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.mjs";
import hljs from "../vendor/highlight.min.mjs";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

marked.setOptions({ gfm: true, breaks: false });
// Raw HTML in a reply is shown as text, as written: the page never parses markup a model
// wrote (and DOMPurify below still removes anything unsafe that markdown itself produced).
marked.use({
  renderer: {
    html(token) {
      return escapeHtml(token.text);
    },
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
  FORBID_ATTR: ["style"],
};

/** Sanitised HTML of a markdown text. */
export function markdownToHtml(text) {
  return DOMPurify.sanitize(marked.parse(String(text ?? "")), PURIFY);
}

/** Fills `element` with the rendered markdown, highlighted, with copy buttons. */
export function renderMarkdown(element, text) {
  element.innerHTML = markdownToHtml(text);
  for (const block of element.querySelectorAll("pre > code")) {
    try {
      hljs.highlightElement(block);
    } catch {
      // an unknown language stays plain
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-code";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy code");
    button.addEventListener("click", () => copyText(block.textContent, button));
    block.parentElement.append(button);
  }
}

/** Copies text, saying so on the button for a moment. */
export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => {
      button.textContent = label;
    }, 1200);
  }
}
