// Helpers the browser tools run inside a page: the interactive elements (numbered from 0 and
// marked so a later click finds them), the readable text as markdown, and find.
(() => {
  if (window.__okcvm) return;
  const INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=link], [role=checkbox], [role=tab], [role=menuitem], [onclick], [contenteditable=true]";
  const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "SVG", "CANVAS", "IFRAME", "NAV", "FOOTER", "ASIDE", "HEADER"]);
  const clean = (text) => (text || "").replace(/\s+/g, " ").trim();
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none" || Number(style.opacity) === 0) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const inViewport = (el) => {
    const box = el.getBoundingClientRect();
    return box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
  };

  function elements() {
    document.querySelectorAll("[data-okcvm-index]").forEach((el) => el.removeAttribute("data-okcvm-index"));
    const list = [];
    for (const el of document.querySelectorAll(INTERACTIVE)) {
      if (!visible(el) || !inViewport(el)) continue;
      const index = list.length;
      el.setAttribute("data-okcvm-index", String(index));
      const tag = el.tagName.toLowerCase();
      const label = clean(el.innerText || el.value || el.getAttribute("aria-label") || el.getAttribute("title") || el.getAttribute("alt") || "");
      const item = { index, tag, text: label.slice(0, 120) };
      if (el.type && tag === "input") item.type = el.type;
      if (tag === "a") item.href = el.href;
      if (el.placeholder) item.placeholder = el.placeholder;
      if (el.name) item.name = el.name;
      list.push(item);
    }
    return list;
  }

  function markdown(node, out) {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        const text = child.textContent.replace(/\s+/g, " ");
        if (text.trim()) out.push(text);
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE || SKIP.has(child.tagName)) continue;
      if (!visible(child) && child.tagName !== "TR") continue;
      const tag = child.tagName;
      if (/^H[1-6]$/.test(tag)) {
        out.push(`\n\n${"#".repeat(Number(tag[1]))} ${clean(child.innerText)}\n\n`);
      } else if (tag === "P" || tag === "DIV" || tag === "SECTION" || tag === "ARTICLE" || tag === "BLOCKQUOTE") {
        out.push("\n\n");
        markdown(child, out);
        out.push("\n\n");
      } else if (tag === "LI") {
        out.push("\n- ");
        markdown(child, out);
      } else if (tag === "BR") {
        out.push("\n");
      } else if (tag === "A" && child.href) {
        const text = clean(child.innerText);
        if (text) out.push(`[${text}](${child.href})`);
      } else if (tag === "PRE") {
        out.push(`\n\n\`\`\`\n${child.innerText}\n\`\`\`\n\n`);
      } else if (tag === "TR") {
        out.push(`\n| ${[...child.cells].map((c) => clean(c.innerText)).join(" | ")} |`);
      } else if (tag === "IMG") {
        if (child.alt) out.push(`![${clean(child.alt)}]`);
      } else if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON") {
        // listed among the elements
      } else {
        markdown(child, out);
      }
    }
  }

  /** The main content: an article or main element, else the body. */
  function readable(maxChars) {
    const root = document.querySelector("article") || document.querySelector("main, [role=main]") || document.body;
    if (!root) return "";
    const out = [];
    markdown(root, out);
    const text = out.join("").replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
    return text.length > maxChars ? `${text.slice(0, maxChars)}\n\n[page text cut at ${maxChars} characters]` : text;
  }

  window.__okcvm = {
    state(maxChars) {
      return {
        title: document.title,
        url: location.href,
        elements: elements(),
        text: readable(maxChars),
        scroll_y: Math.round(scrollY),
        scroll_height: Math.round(document.documentElement.scrollHeight),
        viewport_height: innerHeight,
      };
    },
    center(index) {
      const el = document.querySelector(`[data-okcvm-index="${index}"]`);
      if (!el) return null;
      el.scrollIntoView({ block: "center", inline: "center" });
      const box = el.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2, tag: el.tagName.toLowerCase() };
    },
    focus(index) {
      const el = document.querySelector(`[data-okcvm-index="${index}"]`);
      if (!el) return false;
      el.scrollIntoView({ block: "center" });
      el.focus();
      if ("value" in el && typeof el.select === "function") {
        el.value = "";
      } else if (el.isContentEditable) {
        el.textContent = "";
      }
      return true;
    },
    find(keyword, skip, limit) {
      const text = document.body ? document.body.innerText : "";
      const lower = text.toLowerCase();
      const needle = keyword.toLowerCase();
      const matches = [];
      let at = lower.indexOf(needle);
      let seen = 0;
      while (at !== -1 && matches.length < limit) {
        if (seen >= skip) {
          const start = Math.max(0, at - 120);
          matches.push(clean(text.slice(start, at + needle.length + 120)));
        }
        seen += 1;
        at = lower.indexOf(needle, at + needle.length);
      }
      let total = 0;
      for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, i + needle.length)) total += 1;
      return { total, matches };
    },
  };
})();
