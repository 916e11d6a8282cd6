// The state of one turn as its events arrive: the reply text, the reasoning, one card per tool
// call, and how it ended. Pure: `applyEvent` returns a new state and never touches the page,
// so the same events always draw the same turn (live, replayed after a reconnect, or in a
// second tab).

export function newTurn() {
  return {
    text: "",
    reasoning: "",
    tools: [],
    // Text and tool calls in the order they came: [{kind: "text", text} | {kind: "tool", id}].
    segments: [],
    status: "running",
    error: null,
    payload: null,
    lastSeq: 0,
  };
}

/** The state after `event`; events at or below the last sequence number seen are ignored. */
export function applyEvent(state, event) {
  if (event.seq !== null && event.seq !== undefined) {
    if (event.seq <= state.lastSeq) return state;
    state = { ...state, lastSeq: event.seq };
  }
  switch (event.type) {
    case "token": {
      const delta = event.delta || "";
      const segments = state.segments.slice();
      const last = segments[segments.length - 1];
      if (last && last.kind === "text") segments[segments.length - 1] = { kind: "text", text: last.text + delta };
      else segments.push({ kind: "text", text: delta });
      return { ...state, text: state.text + delta, segments };
    }
    case "reasoning":
      return { ...state, reasoning: state.reasoning + (event.delta || "") };
    case "tool_started":
      return {
        ...state,
        segments: [...state.segments, { kind: "tool", id: event.invocation_id }],
        tools: [
          ...state.tools,
          {
            id: event.invocation_id,
            name: event.tool_name,
            input: event.input,
            status: "running",
            startedAt: event.receivedAt ?? null,
            durationMs: null,
            output: null,
            error: null,
          },
        ],
      };
    case "tool_completed":
      return {
        ...state,
        tools: state.tools.map((tool) =>
          tool.id === event.invocation_id
            ? {
                ...tool,
                status: event.status === "success" ? "done" : "failed",
                durationMs: event.duration_ms ?? null,
                output: event.output ?? null,
                error: event.error ?? null,
              }
            : tool,
        ),
      };
    case "final": {
      const payload = event.payload || {};
      const stopped = payload.status === "stopped";
      return {
        ...state,
        payload,

        status: stopped ? "stopped" : "completed",
      };
    }
    case "error":
      return { ...state, status: "failed", error: { code: event.code, message: event.message } };
    case "stop":
      return { ...state, status: state.status === "running" ? "completed" : state.status, ended: true };
    default:
      return state;
  }
}

/** Whether the turn has ended (its `stop` event arrived). */
export function isEnded(state) {
  return Boolean(state.ended);
}
