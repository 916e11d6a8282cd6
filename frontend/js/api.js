// The HTTP API, as the console uses it: JSON in and out, the conversation's session id on
// every call, errors as ApiError with the server's stable code and message.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `request failed (${status})`);
    this.status = status;
    this.code = code || "request_failed";
  }
}

let session = null;

/** The session (conversation) every call is about. */
export function setSession(id) {
  session = id;
}

export function sessionId() {
  return session;
}

/** `path` with the session's `client_id` added. */
export function withSession(path, id = session) {
  if (!id) return path;
  const separator = path.includes("?") ? "&" : "?";
  return `${path}${separator}client_id=${encodeURIComponent(id)}`;
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

/** Calls the API; resolves to the JSON reply, rejects with an ApiError. */
export async function api(path, { method = "GET", body, scoped = true, signal } = {}) {
  const options = { method, headers: {}, credentials: "same-origin", signal };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(scoped ? withSession(path) : path, options);
  } catch (error) {
    throw new ApiError(0, "network_error", "the server cannot be reached");
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

/** A streaming request: resolves to the Response once its headers are in. */
export async function openStream(path, { method = "GET", body, headers = {}, signal } = {}) {
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
  const response = await fetch(withSession(path), options);
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** The URL of a workspace file (under `/mnt/okcomputer/`) to show or download. */
export function fileUrl(agentPath, id = session) {
  const relative = String(agentPath).replace(/^\/mnt\/okcomputer\/?/, "");
  const encoded = relative.split("/").map(encodeURIComponent).join("/");
  return withSession(`/api/session/workspace/files/${encoded}`, id);
}
