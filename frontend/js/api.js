// The HTTP API, as the console uses it: JSON in and out, errors as ApiError with the server's
// stable code and message. Calls about a conversation name its session id (`session`); the
// others (sign-in, the conversation list, settings) name none.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `request failed (${status})`);
    this.status = status;
    this.code = code || "request_failed";
    this.detail = detail || null;
  }
}

/** `path` with the session's `client_id` added (unchanged without a session). */
export function withSession(path, session) {
  if (!session) return path;
  const separator = path.includes("?") ? "&" : "?";
  return `${path}${separator}client_id=${encodeURIComponent(session)}`;
}

async function errorOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(response.status, body.code, body.detail);
}

/**
 * Calls the API, about `session` when given; resolves to the JSON reply, rejects with an
 * ApiError (or the AbortError of `signal`).
 */
export async function api(path, { method = "GET", body, session, signal } = {}) {
  const options = { method, headers: {}, credentials: "same-origin", signal };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withSession(path, session), options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "the server cannot be reached");
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

/** A streaming request about `session`: resolves to the Response once its headers are in. */
export async function openStream(path, { method = "GET", body, headers = {}, session, signal } = {}) {
  const options = {
    method,
    headers: { accept: "text/event-stream", ...headers },
    credentials: "same-origin",
    signal,
  };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(withSession(path, session), options);
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** The URL of a session's workspace file (under `/mnt/okcomputer/`) to show or download. */
export function fileUrl(session, agentPath) {
  const relative = String(agentPath).replace(/^\/mnt\/okcomputer\/?/, "");
  const encoded = relative.split("/").map(encodeURIComponent).join("/");
  return withSession(`/api/session/workspace/files/${encoded}`, session);
}

/**
 * Uploads files to a session's `upload/` folder (XMLHttpRequest, for its upload progress):
 * resolves to the reply, rejects with an ApiError; `onProgress` gets the fraction sent.
 */
export function uploadFiles(session, files, onProgress) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", withSession("/api/session/files", session));
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) onProgress(event.loaded / event.total);
  });
  return new Promise((resolve, reject) => {
    request.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // keep the status
      }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new ApiError(request.status, body.code, body.detail));
    });
    request.addEventListener("error", () => reject(new ApiError(0, "network_error", "the server cannot be reached")));
    request.send(form);
  });
}
