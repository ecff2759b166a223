/**
 * Reading Server B's `POST /stream` answer: text deltas, then the final answer or an error event.
 * @module
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ErrorBody, ProcessResponse, STREAM_EVENTS, StreamDelta } from "../wire.ts";
import { AttemptFailure, parseWith } from "./_b_failure.ts";

/** The final answer of a `POST /stream` answer, passing each delta to `onText` as it arrives. */
export async function readProcessStream(
  response: Response,
  onText: (text: string) => void,
): Promise<ProcessResponse> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream") || !response.body) {
    throw new AttemptFailure("invalid", `not an event stream (content-type "${type}")`);
  }
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const decoder = new TextDecoder();
  const handle = (event: EventSourceMessage): ProcessResponse | undefined => {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw new AttemptFailure("invalid", "an event whose data is not JSON");
    }
    if (event.event === STREAM_EVENTS.done) {
      return parseWith(ProcessResponse, data, "final stream event");
    }
    if (event.event === STREAM_EVENTS.error) {
      const body = ErrorBody.safeParse(data);
      throw new AttemptFailure(
        "stream_error",
        body.success ? `${body.data.error.code}: ${body.data.error.message}` : event.data,
      );
    }
    onText(parseWith(StreamDelta, data, "stream delta").text);
    return undefined;
  };
  for await (const chunk of response.body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (events.length) {
      const done = handle(events.shift()!);
      if (done) return done;
    }
  }
  throw new AttemptFailure("truncated", "no final event");
}
