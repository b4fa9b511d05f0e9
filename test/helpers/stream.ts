/**
 * Long-lived connections in the end-to-end tests: a Server-Sent Events stream (the demo app's
 * `/stream`) read with a raw socket, so that a test sees exactly how it ended: the app's `end`
 * event and the terminating chunk (clean), the connection closed without them (FIN), or a reset;
 * and a watcher of fresh requests that places a switch on the clock.
 */
import * as http from "node:http";
import * as net from "node:net";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StreamEvent { color: string; version: string; host: string; n: number; at: number }

/** How a stream ended: the app's end event and the terminating chunk, a bare close, a reset. */
export type Ending = "clean" | "fin" | "reset" | "open";

export interface Stream {
    events: StreamEvent[];
    /** The app's `end` event, if it came. */
    end?: { reason: string; n: number };
    ending: Ending;
    endedAt?: number;
    /** Resolves when the connection is over, however it ended. */
    done: Promise<void>;
    close(): void;
}

/** Opens `GET /stream` on `base` over a raw socket and decodes the chunked body as it comes. */
export function openStream(base: string, seconds: number): Stream {
    const { hostname, port } = new URL(base);
    const socket = net.connect(Number(port), hostname);
    const s: Stream = { events: [], ending: "open", done: Promise.resolve(), close: () => socket.destroy() };
    let raw = Buffer.alloc(0);
    let headersDone = false;
    let terminated = false;
    let body = "";
    const parseBody = () => {
        for (;;) {
            const i = body.indexOf("\n\n");
            if (i < 0) return;
            const block = body.slice(0, i);
            body = body.slice(i + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!data) continue;
            if (event === "tick") s.events.push({ ...JSON.parse(data), at: Date.now() });
            if (event === "end") s.end = JSON.parse(data);
        }
    };
    const parseChunks = () => {
        if (!headersDone) {
            const i = raw.indexOf("\r\n\r\n");
            if (i < 0) return;
            const head = raw.subarray(0, i).toString();
            if (!/^HTTP\/1\.1 200/.test(head) || !/transfer-encoding: chunked/i.test(head)) throw new Error(`unexpected answer: ${head}`);
            headersDone = true;
            raw = raw.subarray(i + 4);
        }
        while (!terminated) {
            const eol = raw.indexOf("\r\n");
            if (eol < 0) return;
            const size = parseInt(raw.subarray(0, eol).toString(), 16);
            if (raw.length < eol + 2 + size + 2) return;
            if (size === 0) terminated = true;
            body += raw.subarray(eol + 2, eol + 2 + size).toString();
            raw = raw.subarray(eol + 2 + size + 2);
            parseBody();
        }
    };
    s.done = new Promise((resolve) => {
        socket.on("connect", () => socket.write(`GET /stream?seconds=${seconds}&interval=150 HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
        socket.on("data", (d) => {
            raw = Buffer.concat([raw, d]);
            parseChunks();
            if (terminated && s.ending === "open") {
                s.ending = s.end ? "clean" : "fin";
                s.endedAt = Date.now();
            }
        });
        socket.on("end", () => {
            if (s.ending === "open") [s.ending, s.endedAt] = ["fin", Date.now()];
        });
        socket.on("error", (e: NodeJS.ErrnoException) => {
            if (s.ending === "open") [s.ending, s.endedAt] = [e.code === "ECONNRESET" ? "reset" : "fin", Date.now()];
        });
        socket.on("close", () => resolve());
    });
    return s;
}

/**
 * One fresh-connection `GET /` every 50 ms, to see when the switch happened: after the start of
 * the last request the old color answered (`after`) and before the first answer of the new one
 * (`at`). Bounds built on both hold however slow a request was on a busy machine.
 */
export function watchColors(base: string) {
    const seen: { color: string; sent: number; at: number }[] = [];
    let running = true;
    const loop = (async () => {
        while (running) {
            const sent = Date.now();
            const color = await new Promise<string>((resolve) => {
                http.get(base, { agent: false, timeout: 2000 }, (res) => {
                    let b = "";
                    res.on("data", (d) => (b += d));
                    res.on("end", () => resolve(res.statusCode === 200 ? JSON.parse(b).color : `status ${res.statusCode}`));
                }).on("error", () => resolve("error")).on("timeout", function (this: http.ClientRequest) { this.destroy(); });
            });
            seen.push({ color, sent, at: Date.now() });
            await sleep(50);
        }
    })();
    return {
        seen,
        firstAt: (c: string) => seen.find((x) => x.color === c)?.at,
        /** The switch to `c` happened after `after` and before `at`. */
        switchTo: (c: string) => {
            const i = seen.findIndex((x) => x.color === c);
            if (i < 0) throw new Error(`no fresh request was answered by ${c}: ${JSON.stringify(seen.slice(-5))}`);
            return { after: i > 0 ? seen[i - 1].sent : -Infinity, at: seen[i].at };
        },
        stop: async () => { running = false; await loop; return seen; },
    };
}

