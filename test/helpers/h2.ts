/**
 * An HTTP/2 client for the end-to-end tests, as a gRPC channel behaves: one session (one TCP
 * connection, cleartext HTTP/2 with prior knowledge: `http2.connect("http://...")`) carries every
 * request, at a steady rate, until the server sends GOAWAY or the connection ends; then the next
 * request opens a new session. A request the server did not process (a stream it refused, or one
 * numbered above the GOAWAY's last stream) is sent once more on a new session, as gRPC's
 * transparent retry does; any other error, or a status other than 200, is a failure.
 *
 * Each answer records its session, stream id and color, and each session its protocol, whether
 * the server's SETTINGS came (only an HTTP/2 server sends them) and its GOAWAY, so a test can show
 * that the requests went over HTTP/2 on one held session, and which color each session reached.
 */
import * as http2 from "node:http2";

export interface H2Sample {
    /** Wall-clock ms when the answer (or error) arrived. */
    at: number;
    /** ms from sending the request to this answer, a retry included. */
    ms: number;
    status: number; // 0 for an error
    color?: string;
    /** The session (index into `H2Report.sessions`) and stream that answered. */
    session: number;
    stream?: number;
    retried?: boolean;
    error?: string;
}

export interface H2Session {
    /** Wall-clock ms when it was opened and when it closed. */
    opened: number;
    closed?: number;
    /** `h2c` for cleartext HTTP/2 (Node's `alpnProtocol`). */
    protocol?: string;
    /** The server's SETTINGS frame came (an HTTP/1.1 server answers the preface with an error instead). */
    remoteSettings: boolean;
    goaway?: { code: number; lastStreamId: number; at: number };
    error?: string;
    /** 200 answers on it, per color. */
    colors: Record<string, number>;
    /** The highest stream id answered on it: 2n - 1 after n requests. */
    lastStream: number;
}

export interface H2Report {
    samples: H2Sample[];
    sessions: H2Session[];
    sent: number;
    failed: number;
    /** Requests sent once more because the server had not processed them. */
    retries: number;
}

/** The server did not process the stream: safe to send again (RFC 9113, sections 6.8 and 8.7). */
function unprocessed(e: NodeJS.ErrnoException & { rstCode?: number }): boolean {
    return e.code === "ERR_HTTP2_GOAWAY_SESSION" || e.code === "ERR_HTTP2_INVALID_SESSION"
        || /REFUSED_STREAM/.test(e.message) || e.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
}

export class H2Load {
    private readonly samples: H2Sample[] = [];
    private readonly sessions: H2Session[] = [];
    private session?: http2.ClientHttp2Session;
    private timer?: NodeJS.Timeout;
    private readonly inflight = new Set<Promise<void>>();
    private sent = 0;
    private retries = 0;

    /** `rate` requests per second of `GET /` on `base` (e.g. `http://127.0.0.1:30080`). */
    constructor(private readonly base: string, private readonly rate = 20) {}

    run(): void {
        this.timer = setInterval(() => {
            this.sent++;
            const p = this.one().finally(() => this.inflight.delete(p));
            this.inflight.add(p);
        }, 1000 / this.rate);
    }

    /** Answers so far (the run goes on). */
    snapshot(): H2Sample[] {
        return [...this.samples];
    }

    async stop(): Promise<H2Report> {
        clearInterval(this.timer);
        await Promise.all([...this.inflight]);
        this.session?.close();
        const failed = this.samples.filter((s) => s.status !== 200).length;
        return { samples: this.samples, sessions: this.sessions, sent: this.sent, failed, retries: this.retries };
    }

    /** The open session, or a new one once the last has had GOAWAY or closed. */
    private current(): { s: http2.ClientHttp2Session; n: number } {
        const n = this.sessions.length - 1;
        if (this.session && !this.session.closed && !this.session.destroyed && !this.sessions[n].goaway) return { s: this.session, n };
        const info: H2Session = { opened: Date.now(), remoteSettings: false, colors: {}, lastStream: 0 };
        const s = http2.connect(this.base);
        s.on("connect", () => (info.protocol = s.alpnProtocol));
        s.on("remoteSettings", () => (info.remoteSettings = true));
        s.on("goaway", (code, lastStreamId) => (info.goaway = { code, lastStreamId, at: Date.now() }));
        s.on("error", (e) => (info.error = String(e)));
        s.on("close", () => (info.closed = Date.now()));
        this.sessions.push(info);
        this.session = s;
        return { s, n: n + 1 };
    }

    private async one(): Promise<void> {
        const sentAt = Date.now();
        let retried = false;
        for (;;) {
            const { s, n } = this.current();
            try {
                const r = await get(s);
                let color: string | undefined;
                try {
                    color = JSON.parse(r.body).color;
                } catch { /* not JSON */ }
                if (r.status === 200 && color) this.sessions[n].colors[color] = (this.sessions[n].colors[color] ?? 0) + 1;
                this.sessions[n].lastStream = Math.max(this.sessions[n].lastStream, r.stream);
                this.samples.push({ at: Date.now(), ms: Date.now() - sentAt, status: r.status, color, session: n, stream: r.stream, retried });
                return;
            } catch (err) {
                const e = err as NodeJS.ErrnoException;
                if (!retried && unprocessed(e)) {
                    retried = true;
                    this.retries++;
                    continue;
                }
                this.samples.push({ at: Date.now(), ms: Date.now() - sentAt, status: 0, session: n, retried, error: `${e.code ?? ""} ${e.message}` });
                return;
            }
        }
    }
}

function get(s: http2.ClientHttp2Session): Promise<{ status: number; body: string; stream: number }> {
    return new Promise((resolve, reject) => {
        let req: http2.ClientHttp2Stream;
        try {
            req = s.request({ ":path": "/" });
        } catch (e) {
            reject(e);
            return;
        }
        let status = 0;
        let body = "";
        req.setTimeout(10_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
        req.setEncoding("utf8");
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (d) => (body += d));
        req.on("end", () => resolve({ status, body, stream: req.id ?? 0 }));
        req.on("error", (e) => reject(Object.assign(e, { rstCode: req.rstCode })));
        // Closed without an end or an error (a timeout's cancel): a failure too (a no-op once settled).
        req.on("close", () => reject(Object.assign(new Error(`stream closed, code ${req.rstCode}`), { rstCode: req.rstCode })));
        req.end();
    });
}
