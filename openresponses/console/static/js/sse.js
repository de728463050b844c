// A Server-Sent Events parser (the WHATWG format): feed it text as it arrives, get back the
// complete frames. EventSource cannot POST or send headers, hence this.

export class SseParser {
  constructor() { this.buffer = ""; }

  /** Frames completed by `text`: [{event, data}], `data` lines joined by newlines. */
  feed(text) {
    this.buffer += text.replace(/\r\n?/g, "\n");
    const frames = [];
    let end;
    while ((end = this.buffer.indexOf("\n\n")) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const frame = { event: "message", data: "" };
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const name = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (name === "data") data.push(value);
        else if (name === "event") frame.event = value;
      }
      frame.data = data.join("\n");
      if (data.length) frames.push(frame);
    }
    return frames;
  }
}
